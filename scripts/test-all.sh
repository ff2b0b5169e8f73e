#!/usr/bin/env bash
# Every test of the project. With no arguments: first the main job exactly as a
# newcomer runs it (scripts/check-image.sh with no FFmpeg, Chromium or
# docker-registry on PATH), then the test tools and every other tox env: lint, unit,
# frontend, the API fuzzing of the image the main job built, the mutant self-tests,
# the lifecycle tests, the browser check and the release gate.
# With arguments: they go to `tox run` (e.g. scripts/test-all.sh -e unit).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$REPO_ROOT"
if [ $# -gt 0 ]; then
  WITH_TEST_TOOLS=1 "$REPO_ROOT/scripts/bootstrap.sh"
  eval "$("$REPO_ROOT/scripts/full-stack-images.sh")"
  exec .venv/bin/tox run "$@"
fi
"$REPO_ROOT/scripts/bootstrap.sh"
log "the main job, as on a fresh machine"
"$REPO_ROOT/scripts/without-test-tools.sh" "$REPO_ROOT/scripts/check-image.sh"
WITH_TEST_TOOLS=1 "$REPO_ROOT/scripts/bootstrap.sh"
eval "$("$REPO_ROOT/scripts/full-stack-images.sh")"
exec .venv/bin/tox run -e lint,unit,frontend,fuzz,selftest,lifecycle,browser,gate
