"""Faults inside the running image: FFmpeg killed mid-job, an upload FFmpeg only half reads,
the disk filling up during a transcode or a download, and a Replicate API that hangs,
answers 5xx or sends a broken video. Each job ends `failed` with a reason in plain words,
leaves no files behind, and the service stays healthy; `/health` answers promptly while
FFmpeg is busy.

One container serves the whole module: its TEMP_DIR and UPLOAD_DIR are small tmpfs mounts
(filled on purpose by the disk tests) and its Replicate base URL is a fake API on the
Docker bridge's gateway address, which the container can reach.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.jobs.worker import DISK_FULL
from tests.fake_replicate import Behaviour, FakeReplicate, FakeReplicateServer
from tests.integration.container import RunningService, run_service, wait_job
from tests.integration.tools import entries
from tests.media import Runner, make_clip

pytestmark = pytest.mark.container

# The image's appuser (fixed in the Dockerfile): the tmpfs mounts must be its own.
APP_UID = 10001
TMPFS = f"size=32m,uid={APP_UID},gid={APP_UID},mode=0700"
KILLED = "FFmpeg was stopped by a signal (out of memory?) before it finished"
HTTP_TIMEOUT = 1.0
# A blocked event loop would hold requests for as long as FFmpeg runs (seconds). The
# bounds leave room for a shared machine whose cores FFmpeg and others keep busy.
HEALTH_MEDIAN_SECONDS = 0.1
HEALTH_MAX_SECONDS = 1.0

# Prints the ids of the container's ffmpeg processes (no pgrep in the image).
FIND_FFMPEG = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if open(f"/proc/{pid}/comm").read().strip() == "ffmpeg":
            print(pid)
    except OSError:
        pass
"""


@pytest.fixture(scope="module")
def replicate(docker: Any) -> Iterator[FakeReplicate]:
    gateway = docker.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]
    with FakeReplicateServer(host=gateway) as fake:
        yield fake


@pytest.fixture(scope="module")
def faulty(docker: Any, replicate: FakeReplicate) -> Iterator[RunningService]:
    environment = {
        "REPLICATE_API_TOKEN": "r8_test_token_value",
        "REPLICATE_BASE_URL": replicate.url,
        "REPLICATE_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT),
        "REPLICATE_POLL_SECONDS": "0.05",
        "REPLICATE_TIMEOUT_SECONDS": "20",
        # The tmpfs mounts are small on purpose; full ones are reported by the disk tests.
        "DISK_FREE_MIN_BYTES": str(1024 * 1024),
        # Faults are the point here, not the limits (tests/integration/test_container_security.py).
        "RATE_LIMIT_UPLOADS": "1000/minute",
        "RATE_LIMIT_GENERATIONS": "1000/minute",
    }
    tmpfs = {"/app/temp": TMPFS, "/app/uploads": TMPFS}
    with run_service(docker, environment=environment, tmpfs=tmpfs) as running:
        yield running


@pytest.fixture(scope="module")
def busy_clip(workdir: Path, tool: Runner) -> Path:
    """40 s of 720p, many seconds of work for the service even on fast cores (the tests
    stop it early): 2 s encoded, then repeated without re-encoding (next to free)."""
    part = make_clip(workdir / "busy-part.mp4", run=tool, seconds=2, size="1280x720", rate=30)
    busy = workdir / "busy.mp4"
    tool(
        "ffmpeg",
        ["-v", "error", "-y", "-stream_loop", "19", "-i", str(part), "-c", "copy", str(busy)],
    )
    return busy


@pytest.fixture(scope="module")
def small_clip(workdir: Path, tool: Runner) -> Path:
    return make_clip(workdir / "small.mp4", run=tool, seconds=2, size="320x240")


def upload(service: RunningService, path: Path) -> str:
    with path.open("rb") as handle:
        response = httpx.post(
            f"{service.url}/api/v1/videos",
            headers=service.headers,
            files={"file": (path.name, handle, "video/mp4")},
            timeout=60,
        )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def ffmpeg_pids(service: RunningService) -> list[int]:
    out = service.container.exec_run(["python", "-c", FIND_FFMPEG]).output
    return [int(pid) for pid in out.decode().split()]


def wait_for_ffmpeg(service: RunningService, job_id: str) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = ffmpeg_pids(service)
        if pids:
            return pids[0]
        job = httpx.get(
            f"{service.url}/api/v1/videos/{job_id}", headers=service.headers, timeout=10
        ).json()
        assert job["status"] in ("queued", "processing"), job
        time.sleep(0.05)
    raise AssertionError(f"no ffmpeg ran for job {job_id}")


def assert_failed_cleanly(service: RunningService, job: dict[str, Any]) -> str:
    """The job failed with one plain line; nothing of it is left; the service is healthy."""
    assert job["status"] == "failed", job
    assert job["result"] is None
    reason = str(job["error"])
    assert reason and "\n" not in reason
    assert not re.search(r"/app/|/tmp/|\.part|incoming-|Traceback|exited with|errno", reason)
    assert entries(service.container, "/app/temp") == []
    assert entries(service.container, f"/app/uploads/jobs/{job['id']}") is None
    assert ffmpeg_pids(service) == []
    health = httpx.get(f"{service.url}/health", timeout=5)
    assert (health.status_code, health.json()["status"]) == (200, "healthy")
    return reason


def test_health_answers_promptly_while_ffmpeg_is_busy(
    faulty: RunningService, busy_clip: Path
) -> None:
    job_id = upload(faulty, busy_clip)
    wait_for_ffmpeg(faulty, job_id)
    latencies = []
    with httpx.Client(base_url=faulty.url, headers=faulty.headers, timeout=10) as client:
        try:
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                started = time.perf_counter()
                assert client.get("/health").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)
            # Otherwise part of the window measured an idle service: the clip is too short.
            assert ffmpeg_pids(faulty), "the transcode ended before the measurement did"
        finally:
            assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"/health during a transcode: {len(latencies)} requests, median "
        f"{statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )
    assert statistics.median(latencies) < HEALTH_MEDIAN_SECONDS, latencies
    assert max(latencies) < HEALTH_MAX_SECONDS, latencies
    assert entries(faulty.container, "/app/temp") == []


def test_killed_ffmpeg_fails_the_job(faulty: RunningService, busy_clip: Path) -> None:
    job_id = upload(faulty, busy_clip)
    pid = wait_for_ffmpeg(faulty, job_id)
    kill = f"import os, signal; os.kill({pid}, signal.SIGKILL)"
    assert faulty.container.exec_run(["python", "-c", kill]).exit_code == 0
    job = wait_job(faulty.url, job_id, deadline_seconds=60)
    assert assert_failed_cleanly(faulty, job) == KILLED


def test_upload_ffmpeg_only_half_reads(
    faulty: RunningService, small_clip: Path, workdir: Path
) -> None:
    # The index (faststart) is intact, so the upload is accepted; two thirds of the media
    # data are noise, so FFmpeg decodes the start, skips the rest and exits 0.
    data = bytearray(small_clip.read_bytes())
    start = len(data) // 3
    data[start:] = os.urandom(len(data) - start)
    corrupt = workdir / "corrupt.mp4"
    corrupt.write_bytes(bytes(data))
    job = wait_job(faulty.url, upload(faulty, corrupt), deadline_seconds=60)
    reason = assert_failed_cleanly(faulty, job)
    assert re.fullmatch(
        r"the video is damaged or cut short: only \d\.\d s of its 2\.0 s could be decoded", reason
    )


def fill(service: RunningService, folder: str, leave_bytes: int) -> None:
    """Write a filler file in `folder` until only about `leave_bytes` are free there."""
    script = (
        "import os, sys; folder, leave = sys.argv[1], int(sys.argv[2]); "
        "free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize; "
        "open(os.path.join(folder, 'filler'), 'wb').write(b'0' * max(0, free - leave))"
    )
    result = service.container.exec_run(["python", "-c", script, folder, str(leave_bytes)])
    assert result.exit_code == 0, result.output


def unfill(service: RunningService, folder: str) -> None:
    script = "import os, sys; os.remove(os.path.join(sys.argv[1], 'filler'))"
    assert service.container.exec_run(["python", "-c", script, folder]).exit_code == 0


def test_disk_fills_during_transcode(faulty: RunningService, workdir: Path, tool: Runner) -> None:
    # UPLOAD_DIR holds the result being written: room for the job database's few writes,
    # not for the ~0.2 MB of video. (FFmpeg notices only when it closes the file, so a
    # small clip keeps this short.)
    clip = make_clip(workdir / "disk.mp4", run=tool, seconds=8, size="320x240")
    fill(faulty, "/app/uploads", 64 * 1024)
    try:
        job = wait_job(faulty.url, upload(faulty, clip), deadline_seconds=120)
    finally:
        unfill(faulty, "/app/uploads")
    assert assert_failed_cleanly(faulty, job) == DISK_FULL


def test_disk_fills_during_generation_download(
    faulty: RunningService, replicate: FakeReplicate, busy_clip: Path
) -> None:
    replicate.behaviour = Behaviour(video=busy_clip)
    fill(faulty, "/app/temp", 256 * 1024)
    try:
        job = generate(faulty)
    finally:
        unfill(faulty, "/app/temp")
    assert assert_failed_cleanly(faulty, job) == DISK_FULL


def generate(service: RunningService) -> dict[str, Any]:
    response = httpx.post(
        f"{service.url}/api/v1/generations",
        headers=service.headers,
        json={"prompt": "a red fox"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return wait_job(service.url, response.json()["id"], deadline_seconds=60)


def _broken_video(workdir: Path) -> Path:
    path = workdir / "broken-output.mp4"
    path.write_bytes(os.urandom(64 * 1024))
    return path


REPLICATE_FAULTS: dict[str, tuple[Callable[[Path], Behaviour], str]] = {
    "create-hangs": (
        lambda _: Behaviour(create_delay=HTTP_TIMEOUT * 3),
        "Replicate API timed out",
    ),
    "poll-hangs": (
        lambda _: Behaviour(get_delay=HTTP_TIMEOUT * 3),
        "Replicate API timed out",
    ),
    "create-5xx": (
        lambda _: Behaviour(create_status=500),
        "Replicate API error (HTTP 500): simulated outage",
    ),
    "broken-video": (
        lambda workdir: Behaviour(video=_broken_video(workdir)),
        "the model's output is not a usable video: not a readable video file: "
        "the data is not in any video format FFmpeg recognises",
    ),
}


@pytest.mark.parametrize("fault", list(REPLICATE_FAULTS))
def test_replicate_fault(
    fault: str, faulty: RunningService, replicate: FakeReplicate, workdir: Path
) -> None:
    behaviour, reason = REPLICATE_FAULTS[fault]
    replicate.behaviour = behaviour(workdir)
    replicate.cancelled.clear()
    polled_before = polled(replicate)
    job = generate(faulty)
    assert assert_failed_cleanly(faulty, job) == reason
    if fault == "poll-hangs":
        # Polling gave up, the prediction may still be running: it was cancelled. (A
        # hung create of an earlier test may have added a prediction since, never polled.)
        assert replicate.cancelled == sorted(polled(replicate) - polled_before)


def polled(fake: FakeReplicate) -> set[str]:
    """Predictions the service has asked about (recorded as the request arrives)."""
    return {
        path.split("/")[3]
        for method, path, _ in fake.requests
        if method == "GET" and path.startswith("/v1/predictions/")
    }


def test_faults_left_no_files_and_no_crash(faulty: RunningService) -> None:
    assert entries(faulty.container, "/app/temp") == []
    assert entries(faulty.container, "/app/uploads/jobs") == []
    detailed = httpx.get(f"{faulty.url}/health/detailed", timeout=30).json()
    assert detailed["status"] == "healthy", detailed
    # Faults are WARNING lines; an unexpected exception would be an ERROR with a traceback.
    assert not re.search(r"\b(ERROR|CRITICAL)\b|Traceback", faulty.logs())
