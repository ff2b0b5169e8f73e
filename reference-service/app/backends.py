"""The one place that picks the job store, the job queue and the file storage from Settings.

Today each is always the embedded one: SQLite in the uploads volume, an in-process asyncio
queue, files on local disk. In a later step DATABASE_URL, REDIS_URL and S3_BUCKET select
server implementations here (Postgres, a Redis-fed queue, S3); callers only see the
interfaces.
"""

from __future__ import annotations

import sqlite3

from app.core.config import Settings
from app.jobs.queue import InProcessQueue, JobQueue
from app.jobs.store import JobStore, SqliteJobStore
from app.storage import JobFiles, LocalJobFiles

# What opening the job store raises when it cannot be opened (a volume not writable, a
# damaged database): the service then runs without it (see app.main).
STORE_OPEN_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.Error)


def build_job_store(settings: Settings) -> JobStore:
    return SqliteJobStore(settings.jobs_db_path)


def build_job_queue(settings: Settings) -> JobQueue:
    return InProcessQueue()


def build_job_files(settings: Settings) -> JobFiles:
    return LocalJobFiles(settings.temp_dir, settings.upload_dir)
