"""/generations: clips generated from a prompt on Replicate."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from app.api.deps import ServicesDep, job_or_404
from app.api.routing import job_router, share_allowed_methods
from app.api.schemas import GenerationIn, JobOut, created_job, error_responses
from app.core.errors import ApiError
from app.jobs.models import Job, JobKind
from app.security.ratelimit import rate_limited

router = job_router()


@router.post(
    "/generations",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(rate_limited("generations"))],
    responses={
        **created_job("get_generation", "get_job", "delete_job"),
        **error_responses(400, 429),
    },
)
async def create_generation(body: GenerationIn, services: ServicesDep) -> dict[str, Any]:
    """Generate a clip from a prompt on Replicate; the output is normalised like an upload."""
    if not services.settings.replicate_configured:
        raise ApiError(
            503,
            "replicate_not_configured",
            "video generation is not available: REPLICATE_API_TOKEN is not set",
        )
    model = body.model or services.settings.replicate_model
    job = Job(kind=JobKind.GENERATION, input={"prompt": body.prompt, "model": model})
    await services.worker.submit(job)
    return job.to_api()


@router.get("/generations/{job_id}", response_model=JobOut, responses=error_responses(404))
async def get_generation(job_id: str, services: ServicesDep) -> dict[str, Any]:
    return (await job_or_404(services, job_id, JobKind.GENERATION)).to_api()


share_allowed_methods(router)
