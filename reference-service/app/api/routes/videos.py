"""/videos: uploads, composition, a video's description, file and thumbnail."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import FileResponse, Response

from app.api.deps import Services, ServicesDep, finished_job, job_or_404
from app.api.routing import job_router, share_allowed_methods
from app.api.schemas import ComposeIn, JobOut, created_job, error_responses
from app.api.upload_stream import FIELD, receive_upload
from app.core.errors import ApiError
from app.jobs.models import Job, JobKind, new_job_id
from app.security.ratelimit import rate_limited
from app.services.probe import MediaRejected, inspect_video
from app.storage import THUMBNAIL, VIDEO, Result, StorageUnavailable

logger = logging.getLogger(__name__)

router = job_router()

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
    try:
        await services.files.keep_upload(job.id, incoming)
    except StorageUnavailable as exc:
        raise _storage_failed(job.id, "the upload could not be stored", exc) from None
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
        await finished_job(services, video_id)
    job = Job(kind=JobKind.COMPOSE, input={"video_ids": list(body.video_ids)})
    await services.worker.submit(job)
    return job.to_api()


@router.get("/videos/{job_id}", response_model=JobOut, responses=error_responses(404))
async def get_video(job_id: str, services: ServicesDep) -> dict[str, Any]:
    return (await job_or_404(services, job_id)).to_api()


def _storage_failed(job_id: str, what: str, exc: StorageUnavailable) -> ApiError:
    logger.warning("job %s: %s (%s)", job_id, what, exc.diagnostic)
    return ApiError(503, "storage_unavailable", f"{what}: {exc.reason}; try again later")


async def _serve(
    services: Services,
    job_id: str,
    result: Result,
    request: Request,
    what: str,
    filename: str | None = None,
) -> Response:
    # Results in S3 are streamed through the API, not handed out as presigned URLs: that
    # works through the one published port and keeps the API's authentication.
    try:
        response = await services.files.serve(job_id, result, request, filename=filename)
    except StorageUnavailable as exc:
        raise _storage_failed(job_id, f"the {what} could not be read from storage", exc) from None
    if response is None:
        raise ApiError(404, "not_found", f"the {what} of job {job_id} is gone")
    return response


@router.get(
    "/videos/{job_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, **error_responses(404, 409, 416)},
)
async def get_video_file(job_id: str, request: Request, services: ServicesDep) -> Response:
    """The normalised MP4; supports `Range` requests (seeking in a player)."""
    job = await finished_job(services, job_id)
    return await _serve(services, job.id, VIDEO, request, "video", filename=f"{job.id}.mp4")


@router.get(
    "/videos/{job_id}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, **error_responses(404, 409)},
)
async def get_thumbnail(job_id: str, request: Request, services: ServicesDep) -> Response:
    job = await finished_job(services, job_id)
    return await _serve(services, job.id, THUMBNAIL, request, "thumbnail")


share_allowed_methods(router)
