"""Application factory: routes, error shapes, CORS and the SPA, wired from one Settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
from app.security.install import install_security
from app.web.spa import mount_spa

logger = logging.getLogger(__name__)


def _prepare_directories(settings: Settings) -> None:
    for directory in (settings.temp_dir, settings.upload_dir):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # Not fatal: /health/detailed reports the directory as not writable.
            logger.warning("cannot create %s: %s", directory, exc.strerror)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _prepare_directories(settings)
        files = build_job_files(settings)
        app.state.files = files
        try:
            store = await open_job_store(settings)
        except STORE_OPEN_ERRORS as exc:
            # Serve health and the SPA anyway; job routes answer 503 and
            # /health/detailed shows the store as unavailable.
            logger.warning("job store unavailable at %s: %s", describe_job_store(settings), exc)
            yield
            return
        jobs = build_jobs(settings, store, files)
        app.state.worker = jobs
        await jobs.start()
        try:
            yield
        finally:
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
