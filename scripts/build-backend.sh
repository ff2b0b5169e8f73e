#!/usr/bin/env bash
# Builds the reference image ai-video-backend:TAG (default: latest): the SPA,
# the base image (an air-gapped stand-in when python:3.13-slim can't be pulled)
# and the multi-stage image itself.
#   usage: [TARGET=hardened] scripts/build-backend.sh [TAG]
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
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
[ -z "$(git status --porcelain 2>/dev/null)" ] || revision="$revision-dirty"
# The commit time, not the wall clock: the same revision builds the same labels.
created="$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)"
version="${VERSION:-$(git describe --tags --always 2>/dev/null || echo 0.0.0-dev)}"
build_args=(--build-arg "BASE_IMAGE=$base" --build-arg "REVISION=$revision"
            --build-arg "CREATED=$created" --build-arg "VERSION=$version")
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
