"""The one place that picks the job store, the job queue and the file storage from Settings.

Each is the embedded one unless its server is configured:
- DATABASE_URL: jobs in Postgres (app.jobs.store.postgres), else SQLite in the uploads dir;
- REDIS_URL: jobs on an arq queue run by worker containers (app.worker), else consumers
  in the API's own process;
- S3_BUCKET: results in S3 (app.storage.s3), else on local disk.
The server implementations' libraries are imported only when configured.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from app.core.config import Settings
from app.jobs.handlers import JobHandlers
from app.jobs.queue import InProcessQueue
from app.jobs.store import JobStore, SqliteJobStore, StoreUnavailable
from app.jobs.worker import Worker
from app.storage import JobFiles, LocalJobFiles

if TYPE_CHECKING:
    from app.jobs.queued import QueuedJobs

# What opening the job store raises when it cannot be opened (a volume not writable, a
# damaged database, a database server that does not answer): the API then runs without
# it (see app.main).
STORE_OPEN_ERRORS: tuple[type[Exception], ...] = (OSError, sqlite3.Error, StoreUnavailable)


async def open_job_store(settings: Settings) -> JobStore:
    if settings.database_url:
        from app.jobs.store.postgres import PostgresJobStore

        return await PostgresJobStore.connect(settings.database_url)
    return SqliteJobStore(settings.jobs_db_path)


def describe_job_store(settings: Settings) -> str:
    """Where the store is, for a log line: never the database URL (it has the password)."""
    return (
        "the job database (DATABASE_URL)" if settings.database_url else str(settings.jobs_db_path)
    )


def build_job_files(settings: Settings) -> JobFiles:
    if settings.s3_configured:
        from app.storage.s3 import S3JobFiles

        return S3JobFiles.from_settings(settings)
    return LocalJobFiles(settings.temp_dir, settings.upload_dir)


def build_job_handlers(settings: Settings, files: JobFiles) -> JobHandlers:
    generator = None
    if settings.replicate_configured:
        # The Replicate client (and httpx) load only when configured: a tenth of a
        # second off every start-up that doesn't generate.
        from app.services.generation import ReplicateGenerator

        generator = ReplicateGenerator(settings)
    return JobHandlers(settings, files, generator)


def build_jobs(settings: Settings, store: JobStore, files: JobFiles) -> Worker | QueuedJobs:
    """What the routes submit jobs to: the queue's workers, or this process's own."""
    if settings.redis_url:
        from app.jobs.queue.arq_queue import ArqJobQueue
        from app.jobs.queued import QueuedJobs

        return QueuedJobs(
            store, ArqJobQueue.from_url(settings.redis_url, settings.queue_name), files
        )
    handlers = build_job_handlers(settings, files)
    return Worker(store, InProcessQueue(), files, handlers.table(), settings.worker_concurrency)
