"""FFmpeg timing out, being killed or cancelled, half-reading its input or meeting a full disk: the
job fails (with a plain reason) or is cancelled, files go away, the service stays healthy."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.jobs.handlers import JobHandlers
from app.jobs.models import Job, JobKind
from app.jobs.store import SqliteJobStore
from app.jobs.worker import DISK_FULL
from app.services.pipeline import Outputs
from app.storage import LocalJobFiles
from tests.conftest import Api
from tests.media import make_clip


def ffmpeg_children() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and comm == "ffmpeg":
            pids.append(int(entry.name))
    return pids


def wait_for_ffmpeg(api: Api, job_id: str) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = ffmpeg_children()
        status = api.client.get(f"/api/v1/videos/{job_id}").json()["status"]
        if children and status == "processing":
            return children[0]
        time.sleep(0.05)
    raise AssertionError("ffmpeg never started")


def test_ffmpeg_timeout_fails_the_job(
    make_api: Callable[..., Api], clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api = make_api(ffmpeg_timeout_seconds=0.01)
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    faults = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(faults) == 1 and job["id"] in faults[0].getMessage()
    assert job["status"] == "failed"
    assert "longer than the 0.01 s limit" in job["error"]
    assert api.leftovers() == [] and not (api.settings.upload_dir / "jobs" / job["id"]).exists()
    assert ffmpeg_children() == []
    assert api.client.get("/health").status_code == 200


def test_killed_ffmpeg_fails_the_job(api: Api, long_clip: Path) -> None:
    job_id = api.upload(long_clip).json()["id"]
    os.kill(wait_for_ffmpeg(api, job_id), signal.SIGKILL)
    job = api.wait(job_id)
    assert job["status"] == "failed"
    assert "stopped by a signal" in job["error"]
    assert api.leftovers() == [] and not (api.settings.upload_dir / "jobs" / job_id).exists()


def test_delete_cancels_running_job_and_kills_ffmpeg(api: Api, long_clip: Path) -> None:
    job_id = api.upload(long_clip).json()["id"]
    pid = wait_for_ffmpeg(api, job_id)
    assert api.client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    job = api.client.get(f"/api/v1/videos/{job_id}").json()
    assert job["status"] == "cancelled" and job["result"] is None
    assert not Path(f"/proc/{pid}").exists() or pid not in ffmpeg_children()
    assert api.leftovers() == [] and not (api.settings.upload_dir / "jobs" / job_id).exists()
    assert api.client.get(f"/api/v1/videos/{job_id}/file").status_code == 409


def test_delete_queued_job(
    make_api: Callable[..., Api], long_clip: Path, clips: dict[str, Path]
) -> None:
    api = make_api(worker_concurrency=1)
    running = api.upload(long_clip).json()["id"]
    queued = api.upload(clips["mp4"]).json()["id"]
    assert api.client.get(f"/api/v1/videos/{queued}").json()["status"] == "queued"
    assert api.client.delete(f"/api/v1/jobs/{queued}").status_code == 204
    assert api.client.delete(f"/api/v1/jobs/{running}").status_code == 204
    assert api.client.get(f"/api/v1/videos/{queued}").json()["status"] == "cancelled"
    assert api.leftovers() == []


def test_unfinished_jobs_are_failed_after_a_restart(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    job = Job(kind=JobKind.UPLOAD, input={"filename": "a.mp4"})

    async def leave_a_queued_job() -> None:
        store = SqliteJobStore(tmp_path / "uploads" / "jobs.sqlite3")
        await store.add(job)
        await store.close()

    asyncio.run(leave_a_queued_job())
    (tmp_path / "temp" / job.id).mkdir(parents=True)
    (tmp_path / "temp" / "incoming-x.part").write_bytes(b"half")
    (tmp_path / "temp" / "someone-elses-file").write_bytes(b"keep")

    api = make_api()
    restarted = api.client.get(f"/api/v1/videos/{job.id}").json()
    assert restarted["status"] == "failed"
    assert "restarted" in restarted["error"]
    assert api.leftovers() == ["someone-elses-file"]


def test_upload_ffmpeg_only_half_reads_fails_as_cut_short(api: Api, tmp_path: Path) -> None:
    # Index first (faststart), data cut in half: ffprobe is satisfied, FFmpeg decodes
    # what is there and exits 0 with a shorter video.
    whole = make_clip(tmp_path / "whole.mp4", seconds=2)
    half = tmp_path / "half.mp4"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    job = api.wait(api.upload(half).json()["id"])
    assert job["status"] == "failed", job
    assert re.fullmatch(
        r"the video is damaged or cut short: only \d\.\d s of its 2\.0 s could be decoded",
        job["error"],
    )
    assert api.leftovers() == [] and not (api.settings.upload_dir / "jobs" / job["id"]).exists()


def test_disk_full_while_ffmpeg_writes_is_a_plain_failure(
    api: Api, clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # /dev/full answers every write with ENOSPC: a real FFmpeg meets a real full disk.
    def into_a_full_disk(files: LocalJobFiles, job_id: str) -> Outputs:
        (files.results(job_id)).mkdir(parents=True, exist_ok=True)
        return Outputs(Path("/dev/full"), files.results(job_id) / "thumbnail.part.jpg")

    monkeypatch.setattr(LocalJobFiles, "partial_outputs", into_a_full_disk)
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    assert job["status"] == "failed"
    assert job["error"] == DISK_FULL
    assert api.leftovers() == [] and not (api.settings.upload_dir / "jobs" / job["id"]).exists()
    assert api.client.get("/health").status_code == 200


def test_a_full_disk_anywhere_in_a_job_is_a_plain_failure(
    make_api: Callable[..., Api], clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_space(self: JobHandlers, job: Job) -> dict[str, object]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/srv/somewhere")

    monkeypatch.setattr(JobHandlers, "upload", no_space)
    api = make_api()
    job = api.wait(api.upload(clips["mp4"]).json()["id"])
    assert job["error"] == DISK_FULL and "/srv" not in job["error"]
    assert api.leftovers() == []
