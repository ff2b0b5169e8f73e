"""Schemathesis hooks for the fuzz env (loaded through SCHEMATHESIS_HOOKS).

Real clips for the upload's `file` field: the OpenAPI document says the field holds a
video (`encoding: video/*`), and a random byte string is not one. Given real clips for
the video media types, Schemathesis's positive uploads are accepted (202) and become jobs
whose links the stateful phase follows. The clips are made by the image's own FFmpeg
before the run (conftest.py) and found through FUZZ_CLIPS_DIR.

Two stateful checks in the API's terms: one job has three URIs (/jobs/{id}, and
/videos/{id} or /generations/{id}), and DELETE of an unfinished job cancels it, keeping
it listed as `cancelled` (docs/service.md). Schemathesis's built-in checks assume one URI
per resource and that DELETE always removes; these wrap them with those two facts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free

CLIPS_ENV = "FUZZ_CLIPS_DIR"
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}
DELETE_JOB = "/api/v1/jobs/{job_id}"

# Job IDs a DELETE removed or cancelled (IDs are random UUIDs: never reused).
_deleted: set[str] = set()


def register_clips(folder: Path) -> dict[str, int]:
    """One Hypothesis strategy per media type, drawing from the clips of that type."""
    by_type: dict[str, list[bytes]] = {}
    for path in sorted(folder.iterdir()):
        media_type = MEDIA_TYPES.get(path.suffix)
        if media_type is not None:
            by_type.setdefault(media_type, []).append(path.read_bytes())
    if not by_type:
        raise RuntimeError(f"no clips ({', '.join(MEDIA_TYPES)}) in {folder}")
    for media_type, clips in by_type.items():
        schemathesis.openapi.media_type(media_type, st.sampled_from(clips))
    return {media_type: len(clips) for media_type, clips in by_type.items()}


def _job_id(case: schemathesis.Case) -> str | None:
    job_id = (case.path_parameters or {}).get("job_id")
    return job_id if isinstance(job_id, str) else None


@schemathesis.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    job_id = _job_id(case)
    removed = case.method.upper() == "DELETE" and case.path == DELETE_JOB
    if removed and response.status_code == 204 and job_id is not None:
        _deleted.add(job_id)


@schemathesis.check
def job_found_until_deleted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A created job is found under every URI until DELETE /jobs/{id} removes it."""
    job_id = _job_id(case)
    # A route without a job ID (compose under /videos) is not the created job's URI.
    if job_id is None or (response.status_code == 404 and job_id in _deleted):
        return None
    result: bool | None = ensure_resource_availability(ctx, response, case)
    return result


@schemathesis.check
def job_gone_or_cancelled_after_delete(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """After DELETE a job is gone (404), or still listed only as `cancelled`."""
    if _status_of(response) == "cancelled":
        return None
    result: bool | None = use_after_free(ctx, response, case)
    return result


def _status_of(response: schemathesis.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("status") if isinstance(body, dict) else None


register_clips(Path(os.environ[CLIPS_ENV]))
