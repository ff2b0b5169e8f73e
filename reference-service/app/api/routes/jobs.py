"""/jobs: every job of any kind, listed, looked up, cancelled or deleted."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import Query, Response

from app.api.deps import ServicesDep, job_or_404
from app.api.routing import job_router, share_allowed_methods
from app.api.schemas import JobOut, JobPage, error_responses
from app.jobs.models import JobStatus

logger = logging.getLogger(__name__)

router = job_router()

# The largest offset a JavaScript client holds exactly: far past any real job count, and
# inside SQLite's 64-bit integers (a larger one used to overflow the store: a 500).
MAX_OFFSET = 2**53 - 1


@router.get("/jobs", response_model=JobPage)
async def list_jobs(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """All jobs, newest first."""
    jobs, total = await services.worker.store.page(limit, offset)
    return {
        "items": [job.to_api() for job in jobs],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/jobs/{job_id}", response_model=JobOut, responses=error_responses(404))
async def get_job(job_id: str, services: ServicesDep) -> dict[str, Any]:
    """One job of any kind (upload, generation, compose)."""
    return (await job_or_404(services, job_id)).to_api()


@router.delete("/jobs/{job_id}", status_code=204, responses=error_responses(404))
async def delete_job(job_id: str, services: ServicesDep) -> Response:
    """Cancel a queued or running job (its FFmpeg process is killed) and delete its files.

    A cancelled job stays listed with status `cancelled`; a finished job is removed entirely.
    """
    job = await job_or_404(services, job_id)
    store = services.worker.store
    if job.status.finished:
        await asyncio.to_thread(services.files.remove_all, job.id)
        await store.remove(job.id)
    else:
        await store.update(job.id, status=JobStatus.CANCELLED, error="cancelled by request")
        await services.worker.cancel(job.id)
        # Again: the job may have finished in the instant before it was cancelled.
        await store.update(
            job.id, status=JobStatus.CANCELLED, error="cancelled by request", result=None
        )
        await asyncio.to_thread(services.files.remove_all, job.id)
        logger.info("job %s cancelled by request", job.id)
    return Response(status_code=204)


share_allowed_methods(router)
