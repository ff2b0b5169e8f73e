#!/usr/bin/env bash
# Makes sure a Docker daemon answers. On a Debian machine where we are root and
# none runs, installs Debian's docker.io and starts dockerd in the background.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

daemon_answers() { timeout 10 docker info >/dev/null 2>&1; }

daemon_answers && exit 0

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  die "no Docker daemon answers: start Docker (or set DOCKER_HOST) and run this again"
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  apt_install docker.io
fi

log "starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  daemon_answers && { log "Docker daemon is up"; exit 0; }
  sleep 1
done
die "dockerd did not answer within 60 s: see /var/log/dockerd.log"
