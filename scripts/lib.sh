# Shared helpers for the scripts in this folder; source it, don't run it.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The official base, and the name of the stand-in built when it can't be pulled.
export OFFICIAL_BASE="python:3.13-slim"
export STANDIN_BASE="ai-video-base:python3.13-trixie"

# A docker client that can run BuildKit builds (secrets, cache mounts).
# Docker >= 23 needs the buildx plugin for that; Debian's 20.10 client has it built in.
buildkit_docker() {
  if docker buildx version >/dev/null 2>&1; then
    echo docker
    return
  fi
  local candidate
  for candidate in /usr/bin/docker /usr/local/bin/docker; do
    [ -x "$candidate" ] || continue
    local major
    major=$("$candidate" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [ -n "$major" ] && [ "$major" -lt 23 ]; then
      echo "$candidate"
      return
    fi
  done
  die "no docker client with BuildKit found: install the buildx plugin (or Debian's docker.io client)"
}

# The CA bundle that pip needs inside builds on machines behind a TLS-intercepting
# proxy; passed as a BuildKit secret so it never lands in a layer.
ca_bundle() {
  local bundle="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
  [ -f "$bundle" ] && echo "$bundle"
}

# apt-get install, refreshing the package lists once per run.
apt_install() {
  if [ -z "${_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
