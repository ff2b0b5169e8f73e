#!/usr/bin/env bash
# Prints the images of the compose `full` profile's servers as shell exports, for
#   eval "$(scripts/full-stack-images.sh)"
# POSTGRES_IMAGE, REDIS_IMAGE and S3_IMAGE: the official image when it is present or
# can be pulled, otherwise an air-gapped stand-in built from Debian's packages on the
# backend's base image (deploy/standins/<name>). A stand-in is built once and reused
# while its recipe and base are unchanged (the tag carries their hash). A variable
# already set is used as given (it must be present or pullable).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# variable, official image (the compose file's defaults: keep them in step), stand-in recipe.
SERVERS=(
  "POSTGRES_IMAGE postgres:17 postgres"
  "REDIS_IMAGE redis:7 redis"
  "S3_IMAGE motoserver/moto:5.2.5 s3"
)
PULL_TIMEOUT="${PULL_TIMEOUT:-60}"

"$REPO_ROOT/scripts/ensure-docker.sh"

registry=unknown
available() {
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  # One failed pull is enough to know no registry answers: the next image isn't tried.
  [ "$registry" != unreachable ] || return 1
  if timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1; then
    registry=reachable
    return 0
  fi
  registry=unreachable
  return 1
}

# The stand-in's tag: its recipe's files and the base image's ID, hashed.
standin_tag() {
  local name="$1" base_id="$2" digest
  digest="$(cd "$REPO_ROOT/deploy/standins/$name" \
    && { echo "$base_id"; find . -type f -print0 | sort -z | xargs -0 sha256sum; } \
    | sha256sum | cut -c1-12)"
  echo "ai-video-standin-$name:$digest"
}

declare -A chosen=()
builds=()
base="" base_id=""
for entry in "${SERVERS[@]}"; do
  read -r var official name <<<"$entry"
  if [ -n "${!var:-}" ]; then
    available "${!var}" || die "$var=${!var} is neither present nor pullable"
    chosen[$var]="${!var}"
    continue
  fi
  if available "$official"; then
    chosen[$var]="$official"
    continue
  fi
  if [ -z "$base" ]; then
    base="$("$REPO_ROOT/scripts/base-image.sh")"
    base_id="$(docker image inspect -f '{{.Id}}' "$base")"
  fi
  tag="$(standin_tag "$name" "$base_id")"
  chosen[$var]="$tag"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$official can't be pulled: using the stand-in $tag"
  else
    builds+=("$name $tag")
  fi
done

if [ ${#builds[@]} -gt 0 ]; then
  docker_cli="$(buildkit_docker)"
  secret=()
  bundle="$(ca_bundle || true)"
  [ -n "$bundle" ] && secret=(--secret "id=ca,src=$bundle")
  logs="$(mktemp -d)"
  trap 'rm -rf "$logs"' EXIT
  # In parallel: most of each build is waiting on apt and pip downloads.
  pids=()
  for build in "${builds[@]}"; do
    read -r name tag <<<"$build"
    log "no registry reachable: building the stand-in $tag (base $base)"
    # BUILD_FLAGS: extra docker build flags, e.g. --no-cache (as in build-backend.sh).
    # shellcheck disable=SC2086
    DOCKER_BUILDKIT=1 "$docker_cli" build --progress=plain ${BUILD_FLAGS:-} \
      --build-arg "BASE_IMAGE=$base" "${secret[@]}" -t "$tag" \
      "$REPO_ROOT/deploy/standins/$name" >"$logs/$name.log" 2>&1 &
    pids+=("$!")
  done
  started=$SECONDS
  failed=()
  for i in "${!builds[@]}"; do
    read -r name tag <<<"${builds[$i]}"
    if wait "${pids[$i]}"; then
      size="$(docker image inspect -f '{{.Size}}' "$tag")"
      log "built $tag: $((size / 1000000)) MB"
    else
      tail -n 30 "$logs/$name.log" >&2
      failed+=("$name")
    fi
  done
  [ ${#failed[@]} -eq 0 ] || die "building the stand-in(s) ${failed[*]} failed (log above)"
  log "stand-ins built in $((SECONDS - started)) s"
fi

for entry in "${SERVERS[@]}"; do
  read -r var _ <<<"$entry"
  printf 'export %s=%q\n' "$var" "${chosen[$var]}"
done
