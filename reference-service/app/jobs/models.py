"""A job as stored and as returned by the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    UPLOAD = "upload"
    GENERATION = "generation"
    COMPOSE = "compose"


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Job:
    kind: JobKind
    input: dict[str, Any]
    id: str = field(default_factory=new_job_id)
    status: JobStatus = JobStatus.QUEUED
    created_at: str = field(default_factory=utc_now)
    updated_at: str = ""
    error: str | None = None
    # Probed metadata of the finished video (see JobResult in the API schemas).
    result: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at

    def to_api(self) -> dict[str, Any]:
        result = None
        if self.result is not None:
            result = {
                **self.result,
                "file_url": f"/api/v1/videos/{self.id}/file",
                "thumbnail_url": f"/api/v1/videos/{self.id}/thumbnail",
            }
        return {
            "id": self.id,
            "kind": self.kind.value,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "error": self.error,
            "input": self.input,
            "result": result,
        }
