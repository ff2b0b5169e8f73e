"""Jobs on the Redis queue (REDIS_URL), run by real `python -m app.worker` processes on a
real Redis server: the API queues and runs nothing itself; a worker killed, stopped or
starved of Redis loses no job."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import SERVICE_ROOT, Api, kill_leftovers, service_env
from tests.media import make_clip
from tests.redis_server import RedisServer, redis_server, redis_url  # noqa: F401

QUEUE = "ai-video:jobs"


class WorkerProcess:
    """`python -m app.worker`, its output in a file (a pipe nobody reads would block it)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.worker"],
                env=env,
                cwd=SERVICE_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


@pytest.fixture
def start_worker(tmp_path: Path, redis_url: str) -> Iterator[Callable[..., WorkerProcess]]:  # noqa: F811
    started: list[WorkerProcess] = []

    def start(**extra: str) -> WorkerProcess:
        env = service_env(tmp_path, REDIS_URL=redis_url, **extra)
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    kill_leftovers(worker.process for worker in started)


@pytest.fixture
def queued_api(make_api: Callable[..., Api], redis_url: str) -> Api:  # noqa: F811
    return make_api(redis_url=redis_url)


@pytest.fixture(scope="module")
def medium_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough that a worker is still encoding it when the test acts."""
    return make_clip(tmp_path_factory.mktemp("medium") / "medium.mp4", seconds=20)


def wait_for(check: Callable[[], Any], what: str, deadline_seconds: float = 30) -> Any:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status(api: Api, job_id: str) -> str:
    return str(api.client.get(f"/api/v1/jobs/{job_id}").json()["status"])


def test_workers_run_the_jobs_and_the_api_runs_none(
    queued_api: Api, start_worker: Callable[..., WorkerProcess], clips: dict[str, Path]
) -> None:
    workers = [start_worker(), start_worker()]
    ids = [queued_api.upload(clips["mp4"]).json()["id"] for _ in range(3)]
    for job_id in ids:
        assert queued_api.wait(job_id)["status"] == "succeeded"
        video = queued_api.client.get(f"/api/v1/videos/{job_id}/file")
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    # Each was run by a worker process (its line may follow the status by an instant).
    wait_for(
        lambda: all(
            any(f"job {job_id} (upload) succeeded" in worker.output() for worker in workers)
            for job_id in ids
        ),
        "the workers' log lines",
    )

    # arq renews a worker's health key 1 s before it expires: on a loaded machine it may
    # lapse for an instant, so the key is waited for rather than read once.
    def healthy() -> dict[str, Any] | None:
        component = queued_api.client.get("/health/detailed").json()["components"]["worker"]
        return component if component["ok"] else None

    worker_health = wait_for(healthy, "the workers' health keys")
    assert worker_health["mode"] == "queue"
    # One key per host (a container runs one worker): both processes here share it.
    assert worker_health["workers"] == 1
    assert queued_api.leftovers() == []


def test_a_worker_killed_mid_job_loses_nothing_another_finishes_it(
    queued_api: Api, start_worker: Callable[..., WorkerProcess], medium_clip: Path
) -> None:
    # A dead worker's job is taken again once its timeout (+10 s, arq) has passed.
    fast = {"JOB_TIMEOUT_SECONDS": "8"}
    first = start_worker(**fast)
    job_id = queued_api.upload(medium_clip).json()["id"]
    wait_for(lambda: status(queued_api, job_id) == "processing", "the job to start")
    first.signal(signal.SIGKILL)
    first.wait(5)
    second = start_worker(**fast)
    job = queued_api.wait(job_id, deadline_seconds=60)
    assert job["status"] == "succeeded", job
    assert f"job {job_id}: start 2 of 3" in second.output()
    # The killed attempt's scratch files went with the job's end.
    assert queued_api.leftovers() == []


def test_sigterm_hands_the_running_job_back_and_another_worker_finishes_it(
    queued_api: Api, start_worker: Callable[..., WorkerProcess], medium_clip: Path
) -> None:
    first = start_worker(WORKER_STOP_WAIT_SECONDS="0")
    job_id = queued_api.upload(medium_clip).json()["id"]
    wait_for(lambda: status(queued_api, job_id) == "processing", "the job to start")
    first.signal(signal.SIGTERM)
    assert first.wait(10) == 0
    assert status(queued_api, job_id) == "queued"
    assert f"job {job_id} handed back to the queue" in first.output()
    start_worker()
    assert queued_api.wait(job_id)["status"] == "succeeded"


def test_sigterm_lets_the_running_job_finish_within_the_wait(
    queued_api: Api, start_worker: Callable[..., WorkerProcess], clips: dict[str, Path]
) -> None:
    worker = start_worker(WORKER_STOP_WAIT_SECONDS="20")
    job_id = queued_api.upload(clips["mp4"]).json()["id"]
    wait_for(lambda: status(queued_api, job_id) == "processing", "the job to start")
    worker.signal(signal.SIGTERM)
    assert worker.wait(25) == 0
    assert status(queued_api, job_id) == "succeeded"


def test_with_redis_down_submissions_get_503_and_earlier_jobs_survive(
    queued_api: Api,
    start_worker: Callable[..., WorkerProcess],
    clips: dict[str, Path],
    redis_server: RedisServer,  # noqa: F811
) -> None:
    accepted = queued_api.upload(clips["mp4"]).json()["id"]  # no worker yet: it waits
    redis_server.stop()
    refused = queued_api.upload(clips["mp4"])
    assert refused.status_code == 503
    assert refused.headers["retry-after"]
    body = refused.json()
    assert body["code"] == "service_unavailable"
    assert body["detail"] == "the job queue is unavailable; try again shortly"
    # The refused upload left no job and no file behind.
    listed = queued_api.client.get("/api/v1/jobs").json()
    assert [job["id"] for job in listed["items"]] == [accepted]
    assert queued_api.leftovers() == [f"{accepted}", f"{accepted}/source"]
    detailed = queued_api.client.get("/health/detailed").json()
    assert detailed["components"]["worker"]["ok"] is False
    redis_server.start()
    start_worker()
    assert queued_api.wait(accepted)["status"] == "succeeded"


def test_cancelling_a_running_job_stops_it_on_its_worker(
    queued_api: Api,
    start_worker: Callable[..., WorkerProcess],
    medium_clip: Path,
    clips: dict[str, Path],
) -> None:
    worker = start_worker()
    job_id = queued_api.upload(medium_clip).json()["id"]
    wait_for(lambda: status(queued_api, job_id) == "processing", "the job to start")
    assert queued_api.client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    wait_for(lambda: "aborted" in worker.output(), "the worker to stop the job")
    assert status(queued_api, job_id) == "cancelled"
    # The worker goes on with the next job.
    assert queued_api.wait(queued_api.upload(clips["mp4"]).json()["id"])["status"] == "succeeded"


def test_a_queued_job_is_cancelled_at_once_and_never_run(
    queued_api: Api, start_worker: Callable[..., WorkerProcess], clips: dict[str, Path]
) -> None:
    job_id = queued_api.upload(clips["mp4"]).json()["id"]  # no worker yet: it waits
    started = time.monotonic()
    assert queued_api.client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    assert time.monotonic() - started < 2  # nothing waits for a worker
    worker = start_worker()
    later = queued_api.wait(queued_api.upload(clips["mp4"]).json()["id"])
    assert later["status"] == "succeeded"
    assert status(queued_api, job_id) == "cancelled"
    assert f"job {job_id} (upload) succeeded" not in worker.output()


def test_a_job_interrupted_too_often_fails_with_the_reason(
    queued_api: Api,
    start_worker: Callable[..., WorkerProcess],
    clips: dict[str, Path],
    redis_url: str,  # noqa: F811
) -> None:
    job_id = queued_api.upload(clips["mp4"]).json()["id"]
    # As if three workers had died running it.
    redis.Redis.from_url(redis_url).set(f"{QUEUE}:started:{job_id}", 3)
    start_worker()
    job = queued_api.wait(job_id)
    assert job["status"] == "failed"
    assert job["error"].startswith("the job was interrupted 3 times")


def test_the_worker_command_refuses_bad_use_in_one_line(tmp_path: Path, redis_url: str) -> None:  # noqa: F811
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.worker", *args],
            env=service_env(tmp_path, **env),
            cwd=SERVICE_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    no_queue = run()
    assert no_queue.returncode == 2
    assert no_queue.stderr.strip().splitlines() == [
        "configuration error: REDIS_URL is not set (a worker takes its jobs from the Redis queue)"
    ]
    assert run("--bogus", REDIS_URL=redis_url).returncode == 2
    # No worker has checked in: the healthcheck fails.
    assert run("--check", REDIS_URL=redis_url).returncode == 1


def test_the_healthcheck_passes_while_a_worker_runs(
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    start_worker()

    def healthy() -> bool:
        return (
            subprocess.run(
                [sys.executable, "-m", "app.worker", "--check"],
                env=service_env(tmp_path, REDIS_URL=redis_url),
                cwd=SERVICE_ROOT,
                capture_output=True,
                timeout=30,
                check=False,
            ).returncode
            == 0
        )

    wait_for(healthy, "the worker's health check")


def test_a_worker_stopped_while_it_starts_exits_at_once(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    """A container's PID 1 ignores a SIGTERM it has no handler for: one that arrives
    while the worker connects must still stop it (here the database never answers)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never speaks
        port = silent.getsockname()[1]
        worker = start_worker(DATABASE_URL=f"postgresql://app@127.0.0.1:{port}/jobs")
        silent.settimeout(30)
        connection, _ = silent.accept()  # the worker is connecting: inside its start-up
        with connection:
            worker.signal(signal.SIGTERM)
            assert worker.wait(3) == 0, worker.output()


def test_a_worker_without_redis_says_so_in_one_line(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    env = service_env(tmp_path, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    done = subprocess.run(
        [sys.executable, "-m", "app.worker"],
        env=env,
        cwd=SERVICE_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in (done.stdout + done.stderr).splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "the job queue (Redis) is unavailable" in errors[0]


def test_a_worker_without_its_database_says_so_in_one_line_without_the_password(
    tmp_path: Path,
    redis_url: str,  # noqa: F811
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    env = service_env(
        tmp_path,
        REDIS_URL=redis_url,
        DATABASE_URL=f"postgresql://app:hunter2-secret@127.0.0.1:{port}/jobs",
    )
    done = subprocess.run(
        [sys.executable, "-m", "app.worker"],
        env=env,
        cwd=SERVICE_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 3
    assert "Traceback" not in output and "hunter2" not in output
    errors = [line for line in output.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "cannot start:" in errors[0]
