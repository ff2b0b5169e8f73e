"""Application factory: routes, error shapes, CORS and the SPA, wired from one Settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.main import api_router
from app.api.routes import health
from app.backends import (
    STORE_OPEN_ERRORS,
    build_job_files,
    build_jobs,
    describe_job_store,
    open_job_store,
)
from app.core.config import Settings
from app.core.errors import install_error_handlers
from app.jobs.store import JobStore, StoreUnavailable
from app.jobs.worker import Worker
from app.security.install import install_security
from app.storage import JobFiles
from app.web.spa import mount_spa

if TYPE_CHECKING:
    from app.jobs.queued import QueuedJobs

logger = logging.getLogger(__name__)

# How often the API tries again to reach a database server that was down at start-up.
STORE_RETRY_SECONDS = 5.0
Opened = tuple[JobStore, "Worker | QueuedJobs"]


def _prepare_directories(settings: Settings) -> None:
    for directory in (settings.temp_dir, settings.upload_dir):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # Not fatal: /health/detailed reports the directory as not writable.
            logger.warning("cannot create %s: %s", directory, exc.strerror)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_jobs(app: FastAPI, files: JobFiles) -> Opened:
        store = await open_job_store(settings)
        jobs = build_jobs(settings, store, files)
        await jobs.start()
        app.state.worker = jobs
        return store, jobs

    async def reopen_jobs(app: FastAPI, files: JobFiles, opened: list[Opened]) -> None:
        """A database server down at start-up: try again until it answers (no restart)."""
        while True:
            await asyncio.sleep(STORE_RETRY_SECONDS)
            try:
                opened.append(await open_jobs(app, files))
            except StoreUnavailable:
                continue
            logger.info("job store available again: job routes are back")
            return

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _prepare_directories(settings)
        files = build_job_files(settings)
        app.state.files = files
        opened: list[Opened] = []
        retrying = None
        try:
            opened.append(await open_jobs(app, files))
        except STORE_OPEN_ERRORS as exc:
            # Serve health and the SPA anyway; job routes answer 503 and
            # /health/detailed shows the store as unavailable.
            logger.warning("job store unavailable at %s: %s", describe_job_store(settings), exc)
            if isinstance(exc, StoreUnavailable):
                retrying = asyncio.create_task(reopen_jobs(app, files, opened))
        try:
            yield
        finally:
            if retrying is not None:
                retrying.cancel()
                await asyncio.gather(retrying, return_exceptions=True)
            for store, jobs in opened:
                await jobs.stop()
                await store.close()

    # The probes' routes are the app's own, first in its route list, rather than an
    # included router: this FastAPI matches an included router's routes through a
    # per-request wrapper that costs about as much as the /health handler itself
    # (docs/benchmarks.md, "Load"). Paths, tags and the OpenAPI document are the same.
    app = FastAPI(
        title=settings.api_title,
        version=settings.api_version,
        lifespan=lifespan,
        routes=list(health.router.routes),
    )
    app.state.settings = settings
    app.state.worker = None
    install_error_handlers(app)
    install_security(app, settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length"],
        )
    app.include_router(api_router, prefix="/api/v1")
    mount_spa(app, settings.static_dir, settings.enable_static_files)
    return app
