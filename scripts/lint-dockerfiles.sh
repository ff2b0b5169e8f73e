#!/usr/bin/env bash
# hadolint on every Dockerfile in the repository (mutants included).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*Dockerfile*' | grep -v '\.dockerignore$')
[ ${#files[@]} -gt 0 ] || { echo "no Dockerfiles found" >&2; exit 1; }
hadolint "${files[@]}"
echo "hadolint: ${#files[@]} Dockerfiles clean"
