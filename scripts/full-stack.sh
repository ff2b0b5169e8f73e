#!/usr/bin/env bash
# One real job through the compose `full` profile, in one command: the image as API
# (backend-full) and N workers on PostgreSQL, Redis and S3 (moto), every service
# healthy, a short clip uploaded, the job polled to the end, the result downloaded and
# probed with ffprobe inside the backend container (the host needs no FFmpeg), its row
# in PostgreSQL and its objects in S3 checked, a summary printed. The stack is always
# taken down (containers, network, volumes), on failure and Ctrl-C too.
#   usage: scripts/full-stack.sh [--image IMAGE] [--workers N] [--timeout SECONDS] [--keep]
# IMAGE: default $IMAGE or ai-video-backend:latest (scripts/build-backend.sh). --timeout bounds
# the wait for a healthy stack and, again, for the job (default 180 s). --keep leaves
# the stack up for exploring and prints how to reach it and take it down.
# HOST_PORT pins the API's host port (default: an ephemeral one). Needs curl and python3.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '8,12p' "$0" | sed 's/^# \{0,1\}//'; }

image="${IMAGE:-ai-video-backend:latest}" workers=2 timeout_s=180 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="${2:?--image needs an image}"; shift 2 ;;
    --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
    --timeout) timeout_s="${2:?--timeout needs seconds}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a whole number of at least 1, not '$workers'"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be whole seconds, not '$timeout_s'"
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: install it (apt-get install $tool)"
done

"$REPO_ROOT/scripts/ensure-docker.sh"
docker image inspect "$image" >/dev/null 2>&1 \
  || die "image $image not found: build it with scripts/build-backend.sh (or pass --image)"
if docker compose version >/dev/null 2>&1; then
  compose_cli=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose_cli=(docker-compose)
else
  die "compose is missing: install Docker's compose plugin or Debian's docker-compose"
fi
eval "$("$REPO_ROOT/scripts/full-stack-images.sh")"

# Unique per run, so stacks run side by side; the secrets are fresh each run, in the
# environment only (printed for the user with --keep).
project="full-stack-$(date +%Y%m%d%H%M%S)-$$"
random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
POSTGRES_PASSWORD="$(random_hex 16)"
API_KEYS="$(random_hex 24)"
export IMAGE="$image" POSTGRES_PASSWORD API_KEYS POSTGRES_IMAGE REDIS_IMAGE S3_IMAGE
compose=("${compose_cli[@]}" -p "$project" -f "$REPO_ROOT/deploy/docker-compose.test.yml" --profile full)
tmp="$(mktemp -d)"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$keep" = 1 ]; then
    log "left up (--keep): project $project, API http://${api_addr:-<no port>}, key in API_KEYS below"
    printf '  export POSTGRES_PASSWORD=%s API_KEYS=%s IMAGE=%q\n' "$POSTGRES_PASSWORD" "$API_KEYS" "$image" >&2
    # shellcheck disable=SC2016 # the line is for the user's shell, which expands it
    printf '  curl -H "Authorization: Bearer $API_KEYS" http://%s/api/v1/jobs\n' "${api_addr:-127.0.0.1:PORT}" >&2
    printf '  %s down -v --remove-orphans\n' "${compose[*]}" >&2
  else
    local started left
    started="$(now)"
    "${compose[@]}" down -v --remove-orphans -t 10 >"$tmp/down.log" 2>&1 \
      || { cat "$tmp/down.log" >&2; log "warning: compose down failed"; }
    left="$(
      docker ps -aq --filter "label=com.docker.compose.project=$project"
      docker network ls -q --filter "label=com.docker.compose.project=$project"
      docker volume ls -q --filter "label=com.docker.compose.project=$project"
    )"
    if [ -n "$left" ]; then
      log "warning: left behind by project $project: $(echo "$left" | tr '\n' ' ')"
      [ "$status" != 0 ] || status=1
    else
      log "taken down in $(since "$started") s: no container, network or volume left"
    fi
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The containers of the project: "id service state health exit-code" lines.
containers() {
  local ids
  ids="$(docker ps -aq --filter "label=com.docker.compose.project=$project")"
  [ -n "$ids" ] || return 0
  # shellcheck disable=SC2086
  docker inspect -f '{{.Id}} {{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{with index .State "Health"}}{{.Status}}{{else}}none{{end}} {{.State.ExitCode}}' $ids
}

indent() { sed 's/^/    /'; }

# What a failing container says: its last health probe and its log's tail.
explain() {
  local id="$1" service="$2" probe
  probe="$(docker inspect -f '{{with index .State "Health"}}{{range .Log}}{{.Output}}{{end}}{{end}}' "$id" \
    | tail -n 3)"
  log "$service ($(docker inspect -f '{{.Name}}' "$id" | tr -d /)): last log lines:"
  docker logs --tail 25 "$id" 2>&1 | indent >&2
  [ -z "$probe" ] || { log "$service: last healthcheck output:"; printf '%s\n' "$probe" | indent >&2; }
}

# Every service healthy (s3-init: exited 0), or the failing one explained and exit 1.
wait_healthy() {
  local deadline=$((SECONDS + timeout_s)) id service state health code pending failed list
  while :; do
    pending="" failed=""
    list="$(containers)" || die "docker inspect failed on the stack's containers"
    declare -A seen=()
    while read -r id service state health code; do
      [ -n "$id" ] || continue
      seen[$service]=$((${seen[$service]:-0} + 1))
      if [ "$service" = s3-init ]; then
        case "$state" in
          exited) [ "$code" = 0 ] || failed+=" $id:$service" ;;
          *) pending+=" $service" ;;
        esac
      elif [ "$state" != running ] || [ "$health" = unhealthy ]; then
        failed+=" $id:$service"
      elif [ "$health" != healthy ]; then
        pending+=" $service"
      fi
    done <<<"$list"
    [ "${seen[worker]:-0}" = "$workers" ] || pending+=" worker(${seen[worker]:-0}/$workers)"
    for service in postgres redis s3 s3-init backend-full; do
      [ -n "${seen[$service]:-}" ] || pending+=" $service(not-created)"
    done
    unset seen
    if [ -n "$failed" ]; then
      for entry in $failed; do explain "${entry%%:*}" "${entry#*:}"; done
      die "not healthy:$(for entry in $failed; do printf ' %s' "${entry#*:}"; done)"
    fi
    [ -n "$pending" ] || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      while read -r id service state health code; do
        case " $pending " in *" $service "*) explain "$id" "$service" ;; esac
      done < <(containers)
      die "not healthy within $timeout_s s:$pending"
    fi
    sleep 0.5
  done
}

service_id() { "${compose[@]}" ps -q "$1" | head -n 1; }

# A JSON field of a file ("a.b" for nested), or empty.
json_field() {
  python3 - "$1" "$2" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    value = value.get(part) if isinstance(value, dict) else None
print("" if value is None else value)
PY
}

# ------------------------------------------------------------------- up, healthy
log "project $project: $image as API + $workers workers; $POSTGRES_IMAGE, $REDIS_IMAGE, $S3_IMAGE"
t_up="$(now)"
up_status=0
timeout --foreground "$timeout_s" "${compose[@]}" up -d --scale "worker=$workers" backend-full worker \
  >"$tmp/up.log" 2>&1 || up_status=$?
if [ "$up_status" != 0 ]; then
  cat "$tmp/up.log" >&2
  while read -r id service state health code; do
    [ "$health" = healthy ] || [ "$service $state $code" = "s3-init exited 0" ] || explain "$id" "$service"
  done < <(containers)
  [ "$up_status" != 124 ] || die "compose up did not finish within $timeout_s s (logs above)"
  die "compose up failed (logs above)"
fi
up_s="$(since "$t_up")"
wait_healthy
healthy_s="$(since "$t_up")"
api_addr="$("${compose[@]}" port backend-full 8000)"
[ -n "$api_addr" ] || die "backend-full publishes no host port for 8000"
api="http://$api_addr/api/v1"
backend="$(service_id backend-full)"
log "healthy in $healthy_s s (compose up $up_s s); API on http://$api_addr"

# ------------------------------------------------------------------- one real job
# A 2 s H.264/AAC clip made by the image's own FFmpeg (fragmented MP4: written to a pipe).
docker exec "$backend" ffmpeg -hide_banner -loglevel error \
  -f lavfi -i testsrc2=duration=2:size=320x240:rate=25 -f lavfi -i sine=frequency=440:duration=2 \
  -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest \
  -f mp4 -movflags frag_keyframe+empty_moov pipe:1 >"$tmp/clip.mp4" \
  || die "the image's ffmpeg could not make the test clip"
auth=(-H "Authorization: Bearer $API_KEYS")
t_job="$(now)"
code="$(curl -sS -o "$tmp/job.json" -w '%{http_code}' "${auth[@]}" \
  -F "file=@$tmp/clip.mp4;type=video/mp4;filename=clip.mp4" "$api/videos")" \
  || die "POST $api/videos: no answer"
if [ "$code" != 202 ]; then
  explain "$backend" backend-full
  die "POST $api/videos: HTTP $code: $(head -c 300 "$tmp/job.json")"
fi
job="$(json_field "$tmp/job.json" id)"
log "uploaded clip.mp4 ($(wc -c <"$tmp/clip.mp4") bytes): job $job"

deadline=$((SECONDS + timeout_s)) status="" last=""
while :; do
  code="$(curl -sS -o "$tmp/job.json" -w '%{http_code}' "${auth[@]}" "$api/jobs/$job")" || code=000
  [ "$code" = 200 ] || { explain "$backend" backend-full; die "GET $api/jobs/$job: HTTP $code"; }
  status="$(json_field "$tmp/job.json" status)"
  [ "$status" = "$last" ] || log "job $job: $status ($(since "$t_job") s)"
  last="$status"
  case "$status" in succeeded | failed | cancelled) break ;; esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    for id in $("${compose[@]}" ps -q worker); do explain "$id" worker; done
    die "job $job still $status after $timeout_s s"
  fi
  sleep 0.5
done
job_s="$(since "$t_job")"
if [ "$status" != succeeded ]; then
  for id in $("${compose[@]}" ps -q worker); do explain "$id" worker; done
  die "job $job $status: $(json_field "$tmp/job.json" error)"
fi

# Download through the API and probe, inside the backend container (the image's ffprobe).
probe="$(docker exec -e "JOB=$job" -e "KEY=$API_KEYS" "$backend" python -c '
import json, os, subprocess, sys, urllib.request
job, port = os.environ["JOB"], os.environ.get("PORT", "8000")
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/api/v1/videos/{job}/file",
    headers={"Authorization": "Bearer " + os.environ["KEY"]},
)
path = f"/app/temp/full-stack-{job}.mp4"
try:
    with urllib.request.urlopen(request, timeout=60) as answer, open(path, "wb") as out:
        while chunk := answer.read(1 << 16):
            out.write(chunk)
    size = os.path.getsize(path)
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", path],
        capture_output=True, text=True,
    )
except OSError as exc:
    sys.exit(f"download failed: {exc}")
finally:
    if os.path.exists(path):
        os.unlink(path)
if done.returncode:
    sys.exit("ffprobe: " + " ".join(done.stderr.split())[:300])
info = json.loads(done.stdout)
streams = {s["codec_type"]: s for s in info["streams"]}
video, audio = streams.get("video", {}), streams.get("audio", {})
print(json.dumps({
    "size": size, "format": info["format"]["format_name"],
    "duration": float(info["format"].get("duration", 0)),
    "video": video.get("codec_name"), "width": video.get("width"), "height": video.get("height"),
    "audio": audio.get("codec_name"),
}))
')" || die "the result of job $job: ${probe:-no answer}"
echo "$probe" >"$tmp/probe.json"
video="$(json_field "$tmp/probe.json" video)" audio="$(json_field "$tmp/probe.json" audio)"
duration="$(json_field "$tmp/probe.json" duration)"
[ "$video" = h264 ] && [ "$audio" = aac ] \
  || die "the result of job $job is video ${video:-none}, audio ${audio:-none}, not H.264/AAC"
awk -v d="$duration" 'BEGIN { exit !(d > 1.5 && d < 2.5) }' \
  || die "the result of job $job lasts $duration s, not about 2 s"

# Where the job went: its row in PostgreSQL, its objects in S3, the worker that ran it.
row="$(docker exec "$(service_id postgres)" psql -U videogen -d videogen -tAc \
  "SELECT status FROM jobs WHERE id = '$job'" 2>&1)" || row="error: $row"
[ "$row" = succeeded ] \
  || die "PostgreSQL has '$(echo "$row" | tr '\n' ' ' | head -c 200)' for job $job, not 'succeeded'"
objects="$(docker exec -e "JOB=$job" "$backend" python -c '
import os, boto3
prefix = os.environ.get("S3_PREFIX", "") + os.environ["JOB"] + "/"
pages = boto3.client("s3").get_paginator("list_objects_v2")
print(sum(page.get("KeyCount", 0) for page in pages.paginate(Bucket=os.environ["S3_BUCKET"], Prefix=prefix)))
' 2>&1)" || die "listing the S3 bucket failed: $(echo "$objects" | tail -n 1)"
[ "$objects" -gt 0 ] 2>/dev/null || die "S3 holds no object under $job/: the results are not in the bucket"
ran_by=""
for id in $("${compose[@]}" ps -q worker); do
  if docker logs "$id" 2>&1 | grep -q "$job"; then
    ran_by+="${ran_by:+, }$(docker inspect -f '{{.Name}}' "$id" | tr -d /)"
  fi
done

cat <<SUMMARY
full stack $project: passed
  image      $image (API + $workers workers, all healthy)
  servers    $POSTGRES_IMAGE, $REDIS_IMAGE, $S3_IMAGE
  up         healthy in $healthy_s s (compose up $up_s s)
  job        $job succeeded in $job_s s (upload, queue, worker)
  result     $(json_field "$tmp/probe.json" width)x$(json_field "$tmp/probe.json" height) $video/$audio, $duration s, $(json_field "$tmp/probe.json" size) bytes, probed in the backend container
  stored     PostgreSQL row '$row'; $objects S3 object(s) under $job/
  worker     ${ran_by:-(no worker log names the job)}
SUMMARY
