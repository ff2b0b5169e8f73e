"""/api/v1 job routes: uploads, generations, composition, listing and deletion."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse

from app.api.routing import ResourceRoute, share_allowed_methods
from app.api.schemas import (
    ComposeIn,
    GenerationIn,
    JobOut,
    JobPage,
    created_job,
    error_responses,
)
from app.api.upload_stream import FIELD, receive_upload
from app.core.config import Settings
from app.core.errors import ApiError
from app.jobs.files import JOB_ID_RE, JobFiles
from app.jobs.models import Job, JobKind, JobStatus, new_job_id
from app.jobs.worker import Worker
from app.security.auth import authenticate
from app.security.ratelimit import rate_limited
from app.services.probe import MediaRejected, inspect_video

logger = logging.getLogger(__name__)

# Every route needs an API key when authentication is on (401), takes a parameter or a
# body (422, in ErrorOut's shape like every error here) and the job store (503 when it
# could not be opened). The key is checked before anything else. The operation IDs are
# the function names, which the OpenAPI links below refer to.
router = APIRouter(
    tags=["jobs"],
    route_class=ResourceRoute,
    dependencies=[Depends(authenticate)],
    responses=error_responses(401, 422, 503),
    generate_unique_id_function=lambda route: route.name,
)

# The largest offset a JavaScript client holds exactly: far past any real job count, and
# inside SQLite's 64-bit integers (a larger one used to overflow the store: a 500).
MAX_OFFSET = 2**53 - 1
VIDEO_LINKS = ("get_video", "get_video_file", "get_thumbnail", "get_job", "delete_job")

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "the clip: a video FFmpeg can read (MP4, MOV, "
                            "Matroska/WebM, AVI, MPEG-TS, ...), at most MAX_UPLOAD_BYTES",
                        }
                    },
                },
                # Any file is accepted on the wire; 415/422 answer one that is not a video.
                "encoding": {FIELD: {"contentType": "video/*"}},
            }
        },
    }
}


class Services:
    def __init__(self, request: Request) -> None:
        state = request.app.state
        if state.worker is None:
            raise ApiError(503, "storage_unavailable", "the job store could not be opened")
        self.settings: Settings = state.settings
        self.worker: Worker = state.worker
        self.files: JobFiles = state.files


ServicesDep = Annotated[Services, Depends(Services)]


async def _job_or_404(services: Services, job_id: str, kind: JobKind | None = None) -> Job:
    job = await services.worker.store.get(job_id) if JOB_ID_RE.match(job_id) else None
    if job is None or (kind is not None and job.kind is not kind):
        raise ApiError(404, "not_found", f"no such job: {job_id[:64]}")
    return job


async def _finished_file(services: Services, job_id: str) -> Job:
    job = await _job_or_404(services, job_id)
    if job.status is not JobStatus.SUCCEEDED:
        raise ApiError(409, "not_ready", f"job {job_id} is {job.status.value}, not succeeded")
    return job


@router.post(
    "/videos",
    status_code=202,
    response_model=JobOut,
    openapi_extra=_UPLOAD_BODY,
    dependencies=[Depends(rate_limited("uploads"))],
    responses={
        **created_job(*VIDEO_LINKS, compose_from=True),
        **error_responses(400, 413, 415, 429, 507),
    },
)
async def upload_video(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Upload a clip (multipart field `file`); it is probed now and normalised by a job."""
    settings = services.settings
    incoming, filename = await receive_upload(request, settings.temp_dir, settings.max_upload_bytes)
    try:
        await inspect_video(incoming)
    except MediaRejected as exc:
        incoming.unlink(missing_ok=True)
        logger.info("upload %r rejected: %s", filename, exc.diagnostic or exc.detail)
        raise ApiError(exc.status_code, exc.code, exc.detail) from None
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise
    job = Job(id=new_job_id(), kind=JobKind.UPLOAD, input={"filename": filename})
    services.files.scratch(job.id).mkdir(parents=True)
    incoming.replace(services.files.source(job.id))
    await services.worker.submit(job)
    return job.to_api()


# Before /videos/{job_id}: the literal path is the resource a 405 here names.
@router.post(
    "/videos/compose",
    status_code=202,
    response_model=JobOut,
    dependencies=[Depends(rate_limited("compositions"))],
    responses={**created_job(*VIDEO_LINKS), **error_responses(400, 404, 409, 429)},
)
async def compose_videos(body: ComposeIn, services: ServicesDep) -> dict[str, Any]:
    """Concatenate finished videos, in order, into a new one."""
    limit = services.settings.compose_max_clips
    if len(body.video_ids) > limit:
        raise ApiError(422, "invalid_request", f"at most {limit} videos can be composed")
    for video_id in body.video_ids:
        await _finished_file(services, video_id)
    job = Job(kind=JobKind.COMPOSE, input={"video_ids": list(body.video_ids)})
    await services.worker.submit(job)
    return job.to_api()


@router.get("/videos/{job_id}", response_model=JobOut, responses=error_responses(404))
async def get_video(job_id: str, services: ServicesDep) -> dict[str, Any]:
    return (await _job_or_404(services, job_id)).to_api()


@router.get(
    "/videos/{job_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, **error_responses(404, 409, 416)},
)
async def get_video_file(job_id: str, services: ServicesDep) -> FileResponse:
    """The normalised MP4; supports `Range` requests (seeking in a player)."""
    job = await _finished_file(services, job_id)
    path = services.files.video(job.id)
    if not path.is_file():
        raise ApiError(404, "not_found", f"the video of job {job_id} is gone")
    return FileResponse(
        path, media_type="video/mp4", filename=f"{job.id}.mp4", content_disposition_type="inline"
    )


@router.get(
    "/videos/{job_id}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, **error_responses(404, 409)},
)
async def get_thumbnail(job_id: str, services: ServicesDep) -> FileResponse:
    job = await _finished_file(services, job_id)
    path = services.files.thumbnail(job.id)
    if not path.is_file():
        raise ApiError(404, "not_found", f"the thumbnail of job {job_id} is gone")
    return FileResponse(path, media_type="image/jpeg")


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
    return (await _job_or_404(services, job_id, JobKind.GENERATION)).to_api()


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
    return (await _job_or_404(services, job_id)).to_api()


@router.delete("/jobs/{job_id}", status_code=204, responses=error_responses(404))
async def delete_job(job_id: str, services: ServicesDep) -> Response:
    """Cancel a queued or running job (its FFmpeg process is killed) and delete its files.

    A cancelled job stays listed with status `cancelled`; a finished job is removed entirely.
    """
    job = await _job_or_404(services, job_id)
    store = services.worker.store
    if job.status.finished:
        services.files.remove_all(job.id)
        await store.remove(job.id)
    else:
        await store.update(job.id, status=JobStatus.CANCELLED, error="cancelled by request")
        await services.worker.cancel(job.id)
        # Again: the job may have finished in the instant before it was cancelled.
        await store.update(
            job.id, status=JobStatus.CANCELLED, error="cancelled by request", result=None
        )
        services.files.remove_all(job.id)
        logger.info("job %s cancelled by request", job.id)
    return Response(status_code=204)


share_allowed_methods(router)
