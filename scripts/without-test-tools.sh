#!/usr/bin/env bash
# Runs a command with the test tools (FFmpeg, Chromium, docker-registry) absent from
# PATH, as on a newcomer's machine: proves the main job needs none of them on the host.
#   usage: scripts/without-test-tools.sh COMMAND [ARG...]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

hidden=(ffmpeg ffprobe chromium chromium-browser google-chrome docker-registry)
# A folder of links to every program on PATH but those; kept (not a temp dir) because
# a virtualenv made through a link remembers the folder it was made from.
shim="$REPO_ROOT/.tox/path-without-test-tools"
rm -rf "$shim"
mkdir -p "$shim"
IFS=: read -r -a dirs <<<"$PATH"
# Last folder first, so that the first one on PATH wins, as it would.
for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
  dir="${dirs[i]}"
  [ -d "$dir" ] || continue
  find "$dir" -maxdepth 1 -mindepth 1 \( -type f -o -type l \) -perm -u+x \
    -exec ln -sfn -t "$shim" {} + 2>/dev/null || true
done
for tool in "${hidden[@]}"; do rm -f "$shim/$tool"; done
log "running without ${hidden[*]} on PATH: $*"
PATH="$shim" exec "$@"
