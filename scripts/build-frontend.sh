#!/usr/bin/env bash
# Builds the SPA into frontend/dist (content-hashed files under assets/), installing
# its npm dependencies when the lock file changed.
#   usage: scripts/build-frontend.sh [--test]   --test: run the Vitest suite instead
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$REPO_ROOT/frontend"
command -v npm >/dev/null 2>&1 || die "npm is missing: install Node.js 20+ and npm"
# npm ci only when the lock file changed since the last install: it wipes node_modules.
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing frontend dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" >"$stamp"
fi
if [ "${1:-}" = --test ]; then
  log "frontend tests (vitest)"
  exec npm test --silent
fi
log "building the frontend"
npm run --silent build >/dev/null
[ -f dist/index.html ] || die "the frontend build produced no dist/index.html"
