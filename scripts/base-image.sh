#!/usr/bin/env bash
# Prints the base image to build FROM: the official python:3.13-slim when it is
# present or can be pulled, otherwise a stand-in built from Debian trixie packages
# (air-gapped machines). The stand-in is built once and reused.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

if docker image inspect "$OFFICIAL_BASE" >/dev/null 2>&1 \
   || timeout 60 docker pull -q "$OFFICIAL_BASE" >/dev/null 2>&1; then
  echo "$OFFICIAL_BASE"
  exit 0
fi

if docker image inspect "$STANDIN_BASE" >/dev/null 2>&1; then
  log "no registry reachable: using the air-gapped stand-in base $STANDIN_BASE"
  echo "$STANDIN_BASE"
  exit 0
fi

log "no registry reachable: building the stand-in base $STANDIN_BASE from Debian trixie packages"
command -v debootstrap >/dev/null 2>&1 || {
  [ "$(id -u)" = 0 ] || die "debootstrap is missing: install it (apt-get install debootstrap) or make $OFFICIAL_BASE available"
  apt_install debootstrap
}
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
debootstrap --variant=minbase \
  --include=python3,python3-venv,python-is-python3,ca-certificates \
  trixie "$rootfs" "$mirror" >/dev/null
# Same apt sources as the official image (with updates and security fixes), so
# images built on the stand-in stay patchable the same way.
rm -f "$rootfs/etc/apt/sources.list"
cat > "$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie trixie-updates
Components: main

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
Suites: trixie-security
Components: main
SOURCES
# Same trimming the official slim image does: no apt lists, docs, man pages, locales, bytecode caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'C.*' -exec rm -rf {} +
find "$rootfs"/usr/lib/python3* -name __pycache__ -type d -prune -exec rm -rf {} +
tar --numeric-owner -C "$rootfs" -c . \
  | docker import \
      --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["python3"]' \
      - "$STANDIN_BASE" >/dev/null
log "built $STANDIN_BASE ($(docker image inspect -f '{{.Size}}' "$STANDIN_BASE" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$STANDIN_BASE"
