#!/usr/bin/env bash
# Prepares a fresh machine for the two README commands: the system packages the
# tests use, a Docker daemon, and a virtualenv with tox.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# Debian packages: debootstrap for the air-gapped base image, Chromium for the
# SPA-BROWSER check, docker-compose for DEP-COMPOSE; for the tests also FFmpeg (the
# service's unit tests) and docker-registry (the local stand-in for ECR).
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# DEP-COMPOSE reads compose files with compose itself (the plugin, or Debian's v1).
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
  || need+=(docker-compose)
if [ "${WITH_TEST_TOOLS:-0}" = 1 ]; then
  command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
  command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
  # the full stack's store and queue tests run real servers
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
    log "installing ${need[*]}"
    apt_install "${need[@]}"
  else
    log "missing ${need[*]}: install them for the tests that use them"
  fi
fi

"$REPO_ROOT/scripts/ensure-docker.sh"

venv="$REPO_ROOT/.venv"
if [ ! -x "$venv/bin/python" ]; then
  log "creating the virtualenv .venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import tox, tox_uv" 2>/dev/null; then
  log "installing tox (with tox-uv) in .venv"
  "$venv/bin/pip" install -q tox tox-uv >/dev/null
fi
