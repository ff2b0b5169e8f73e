#!/usr/bin/env bash
# Every test of the project: lint, unit tests, the image build, the conformance
# suite against it, the mutant self-tests, the browser check and the release gate.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

WITH_TEST_TOOLS=1 "$REPO_ROOT/scripts/bootstrap.sh"
cd "$REPO_ROOT"
exec .venv/bin/tox run "$@"
