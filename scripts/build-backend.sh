#!/usr/bin/env bash
# Builds the reference image ai-video-backend:TAG (default: latest): the SPA,
# the base image (an air-gapped stand-in when python:3.13-slim can't be pulled)
# and the multi-stage image itself.
#   usage: [TARGET=hardened] [REVISION=... CREATED=... VERSION=...] scripts/build-backend.sh [TAG]
# TARGET: a Dockerfile stage to build instead of the default (runtime) image,
# e.g. hardened, the shell-less one.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

tag="${1:-latest}"
image="${IMAGE_NAME:-ai-video-backend}:$tag"

"$REPO_ROOT/scripts/ensure-docker.sh"
base="$("$REPO_ROOT/scripts/base-image.sh")"
# BUILD_CONTEXT: build from a copy of the tree (bench/ uses it) with its frontend already built.
context="${BUILD_CONTEXT:-$REPO_ROOT}"
[ -n "${BUILD_CONTEXT:-}" ] || "$REPO_ROOT/scripts/build-frontend.sh"

cd "$context"
# OCI labels (IMG-LABELS): the commit, the commit's own time (never the wall clock:
# the same commit must build the same image ID, so builds and mutant caches stay
# warm) and `git describe`. REVISION, CREATED and VERSION in the environment win,
# e.g. for a build from an exported tree. Without git and without them the labels
# keep the Dockerfile's placeholders ("unknown"): the image builds, IMG-LABELS fails it.
revision="" created="" version=""
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
  revision="$(git rev-parse HEAD)"
  # Uncommitted changes are built too: the label says so.
  [ -z "$(git status --porcelain)" ] || revision="$revision-dirty"
  created="$(git log -1 --format=%cI)"
  version="$(git describe --tags --always)"
fi
revision="${REVISION:-$revision}" created="${CREATED:-$created}" version="${VERSION:-$version}"
build_args=(--build-arg "BASE_IMAGE=$base")
unset_labels=()
for arg in "REVISION=$revision" "CREATED=$created" "VERSION=$version"; do
  if [ -n "${arg#*=}" ]; then build_args+=(--build-arg "$arg"); else unset_labels+=("${arg%%=*}"); fi
done
[ ${#unset_labels[@]} -eq 0 ] || log "warning: $context is not a git checkout and ${unset_labels[*]}" \
  "not set: those labels stay placeholders, so IMG-LABELS will fail this image"
origin="$(git remote get-url origin 2>/dev/null || true)"
case "$origin" in
  https://*) build_args+=(--build-arg "SOURCE=${origin%.git}") ;;
esac
secret=()
bundle="$(ca_bundle || true)"
[ -n "$bundle" ] && secret=(--secret "id=ca,src=$bundle")
target=()
[ -n "${TARGET:-}" ] && target=(--target "$TARGET")

docker_cli="$(buildkit_docker)"
log "building $image${TARGET:+ (target $TARGET)} (base $base)"
# BUILD_FLAGS: extra docker build flags, e.g. --no-cache (used by bench/).
# shellcheck disable=SC2086
DOCKER_BUILDKIT=1 "$docker_cli" build --progress="${BUILD_PROGRESS:-auto}" ${BUILD_FLAGS:-} \
  -f reference-service/Dockerfile "${build_args[@]}" "${secret[@]}" "${target[@]}" -t "$image" .
size=$(docker image inspect -f '{{.Size}}' "$image")
log "built $image: $((size / 1000000)) MB"
