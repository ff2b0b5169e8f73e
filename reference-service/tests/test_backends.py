"""The backends chosen from Settings: the embedded ones by default, and with REDIS_URL
the queue's workers instead of this process's own (the server ones have their own tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.backends import build_job_files, build_jobs, open_job_store
from app.core.config import Settings
from app.jobs.queued import QueuedJobs
from app.jobs.store import SqliteJobStore
from app.jobs.worker import Worker
from app.storage import LocalJobFiles


def test_the_embedded_backends_are_built_from_settings(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store = asyncio.run(open_job_store(settings))
    try:
        assert isinstance(store, SqliteJobStore)
        assert settings.jobs_db_path.is_file()
        files = build_job_files(settings)
        assert files == LocalJobFiles(settings.temp_dir, settings.upload_dir)
        assert isinstance(build_jobs(settings, store, files), Worker)
    finally:
        asyncio.run(store.close())


def test_with_a_queue_server_the_api_runs_no_job_itself(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0")
    store = asyncio.run(open_job_store(settings))
    try:
        jobs = build_jobs(settings, store, build_job_files(settings))
        # Nothing connects yet: the API starts while Redis is down.
        assert isinstance(jobs, QueuedJobs)
    finally:
        asyncio.run(store.close())
