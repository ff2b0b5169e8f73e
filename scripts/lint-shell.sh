#!/usr/bin/env bash
# Runs shellcheck on every shell script of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.sh' .ci/run)
shellcheck -x "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
