#!/usr/bin/env bash
# The seed's nine smoke tests against a running container of the image.
# (The conformance suite checks far more; this is the quick look.)
#   usage: scripts/test-backend.sh [IMAGE]     default ai-video-backend:latest
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

image="${1:-ai-video-backend:latest}"
name="backend-smoke-$$"
passed=0
failed=0

if [ -t 1 ]; then ok=$'\033[32m✓\033[0m' ko=$'\033[31m✗\033[0m'; else ok="PASS" ko="FAIL"; fi
pass() { printf '  %s %s\n' "$ok" "$1"; passed=$((passed + 1)); }
fail() { printf '  %s %s — %s\n' "$ko" "$1" "$2"; failed=$((failed + 1)); }
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

echo "Smoke tests for $image"

# 1. Image exists
if docker image inspect "$image" >/dev/null 2>&1; then
  pass "image exists"
else
  fail "image exists" "not found: build it with scripts/build-backend.sh"
  echo "$passed passed, $((failed + 8)) failed"
  exit 1
fi

# 2. Container starts (and is still running a few seconds later)
docker run -d --name "$name" -p 127.0.0.1::8000 "$image" >/dev/null
port="$(docker port "$name" 8000/tcp | head -n 1 | sed 's/.*://')"
base="http://127.0.0.1:$port"
sleep 3
if [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ]; then
  pass "container starts"
else
  fail "container starts" "exited: $(docker logs --tail 3 "$name" 2>&1 | tr '\n' ' ')"
fi

# 3. Becomes healthy (Docker's own HEALTHCHECK; the first probe runs one interval after start)
status=""
for _ in $(seq 1 60); do
  status="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name" 2>/dev/null)"
  [ "$status" = healthy ] || [ "$status" = unhealthy ] || [ -z "$status" ] && break
  sleep 1
done
if [ "$status" = healthy ]; then pass "container becomes healthy"
else fail "container becomes healthy" "health status: ${status:-no HEALTHCHECK}"; fi

# 4. Health endpoint responds
body="$(curl -fsS --max-time 5 "$base/health" 2>&1)"
case "$body" in
  *'"status":"healthy"'*) pass "health endpoint responds" ;;
  *) fail "health endpoint responds" "$body" ;;
esac

# 5. FFmpeg is installed
ver="$(docker exec "$name" ffmpeg -hide_banner -version 2>&1 | head -n 1)"
case "$ver" in
  "ffmpeg version"*) pass "FFmpeg is installed ($ver)" ;;
  *) fail "FFmpeg is installed" "$ver" ;;
esac

# 6. Python 3.13 is present
py="$(docker exec "$name" python --version 2>&1)"
case "$py" in
  "Python 3.13"*) pass "Python 3.13 is present ($py)" ;;
  *) fail "Python 3.13 is present" "$py" ;;
esac

# 7. Running as non-root
uid="$(docker exec "$name" id -u 2>&1)"
if [ -n "$uid" ] && [ "$uid" != 0 ]; then pass "running as non-root (uid $uid)"
else fail "running as non-root" "uid ${uid:-unknown}"; fi

# 8. API routes respond
ping="$(curl -fsS --max-time 5 -H 'Accept: application/json' "$base/api/v1/ping" 2>&1)"
case "$ping" in
  '{'*) pass "API routes respond ($ping)" ;;
  *) fail "API routes respond" "$ping" ;;
esac

# 9. No errors in logs
errors="$(docker logs "$name" 2>&1 | grep -E 'ERROR|CRITICAL|Traceback' | head -n 3)"
if [ -z "$errors" ]; then pass "no errors in logs"; else fail "no errors in logs" "$errors"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
