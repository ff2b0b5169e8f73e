"""The backends chosen from Settings: today always the embedded ones."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.backends import build_job_files, build_job_queue, build_job_store
from app.core.config import Settings
from app.jobs.queue import InProcessQueue
from app.jobs.store import SqliteJobStore
from app.storage import LocalJobFiles


def test_the_embedded_backends_are_built_from_settings(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store = build_job_store(settings)
    try:
        assert isinstance(store, SqliteJobStore)
        assert settings.jobs_db_path.is_file()
    finally:
        asyncio.run(store.close())
    assert isinstance(build_job_queue(settings), InProcessQueue)
    files = build_job_files(settings)
    assert files == LocalJobFiles(settings.temp_dir, settings.upload_dir)
