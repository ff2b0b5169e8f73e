"""Request and response shapes, so OpenAPI documents exactly what the routes return."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.core.config import Settings


class ErrorOut(BaseModel):
    detail: str = Field(description="A human-readable message")
    code: str = Field(description="A stable machine code, e.g. not_found, payload_too_large")


class JobInput(BaseModel):
    filename: str | None = None
    prompt: str | None = None
    model: str | None = None
    video_ids: list[str] | None = None


class JobResult(BaseModel):
    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    size_bytes: int
    file_url: str
    thumbnail_url: str


class JobOut(BaseModel):
    id: str
    kind: Literal["upload", "generation", "compose"]
    status: Literal["queued", "processing", "succeeded", "failed", "cancelled"]
    created_at: str
    updated_at: str
    error: str | None
    input: JobInput
    result: JobResult | None


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
    limit: int
    offset: int


class GenerationIn(BaseModel):
    prompt: str = Field(min_length=1, max_length=2000)
    model: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[0-9a-f]{16,64})?$",
        description="owner/name or owner/name:version; the configured default when null",
    )


# The limit is a setting checked by the route; the document states its default.
COMPOSE_MAX_CLIPS_DEFAULT: int = Settings.model_fields["compose_max_clips"].default


class ComposeIn(BaseModel):
    video_ids: list[str] = Field(
        min_length=2,
        description="finished videos, in playing order; at most COMPOSE_MAX_CLIPS "
        f"({COMPOSE_MAX_CLIPS_DEFAULT} unless configured)",
        json_schema_extra={"maxItems": COMPOSE_MAX_CLIPS_DEFAULT},
    )


# Errors that come with a header the client acts on.
_ERROR_HEADERS: dict[int, dict[str, object]] = {
    401: {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "description": "Bearer: send Authorization: Bearer <API key>",
        }
    },
    429: {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "description": "Seconds until this API key (or address) may try again",
        }
    },
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    responses: dict[int | str, dict[str, object]] = {}
    for code in codes:
        response: dict[str, object] = {"model": ErrorOut}
        if code in _ERROR_HEADERS:
            response["headers"] = _ERROR_HEADERS[code]
        responses[code] = response
    return responses


def created_job(
    *operation_ids: str, compose_from: bool = False
) -> dict[int | str, dict[str, object]]:
    """The 202 of a route that creates a job, with OpenAPI links to the routes taking its id
    (clients and Schemathesis's stateful phase follow them with a real id)."""
    links: dict[str, object] = {
        operation_id: {"operationId": operation_id, "parameters": {"job_id": "$response.body#/id"}}
        for operation_id in operation_ids
    }
    if compose_from:
        # Composing the new video with itself: a finished upload is a valid clip to join.
        links["compose_videos"] = {
            "operationId": "compose_videos",
            "requestBody": {"video_ids": ["$response.body#/id", "$response.body#/id"]},
        }
    return {202: {"description": "The job, queued", "links": links}}
