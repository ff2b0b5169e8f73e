#!/usr/bin/env bash
# The main job: build the reference image and run the conformance suite against
# it, printing the report. Extra arguments go to pytest.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

"$REPO_ROOT/scripts/bootstrap.sh"
cd "$REPO_ROOT"
# DEP-COMPOSE-FULL's servers: the official images, or stand-ins built from Debian packages.
eval "$("$REPO_ROOT/scripts/full-stack-images.sh")"
status=0
# Extra arguments are for pytest, not for the image build.
.venv/bin/tox run -q -e image && .venv/bin/tox run -q -e conformance -- "$@" || status=$?
summary="${REPORTS:-$REPO_ROOT/reports}/summary.md"
[ -f "$summary" ] && { echo; cat "$summary"; }
exit "$status"
