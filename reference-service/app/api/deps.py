"""What the job routes depend on: the running services, and a job looked up by its id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from app.core.config import Settings
from app.core.errors import ApiError
from app.jobs.models import Job, JobKind, JobStatus
from app.jobs.worker import Worker
from app.storage import JOB_ID_RE, JobFiles

if TYPE_CHECKING:
    from app.jobs.queued import QueuedJobs  # arq loads only when REDIS_URL is set


class Services:
    def __init__(self, request: Request) -> None:
        state = request.app.state
        if state.worker is None:
            raise ApiError(503, "storage_unavailable", "the job store could not be opened")
        self.settings: Settings = state.settings
        self.worker: Worker | QueuedJobs = state.worker
        self.files: JobFiles = state.files


ServicesDep = Annotated[Services, Depends(Services)]


async def job_or_404(services: Services, job_id: str, kind: JobKind | None = None) -> Job:
    job = await services.worker.store.get(job_id) if JOB_ID_RE.match(job_id) else None
    if job is None or (kind is not None and job.kind is not kind):
        raise ApiError(404, "not_found", f"no such job: {job_id[:64]}")
    return job


async def finished_job(services: Services, job_id: str) -> Job:
    job = await job_or_404(services, job_id)
    if job.status is not JobStatus.SUCCEEDED:
        raise ApiError(409, "not_ready", f"job {job_id} is {job.status.value}, not succeeded")
    return job
