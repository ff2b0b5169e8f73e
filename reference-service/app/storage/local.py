"""A job's files on local disk.

- scratch: `<TEMP_DIR>/<job id>/` (app.storage.scratch); removed when the job ends.
- results: `<UPLOAD_DIR>/jobs/<job id>/video.mp4` and `thumbnail.jpg`; written under
  `.part` names and renamed, so a half-written file is never served.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from app.services.pipeline import Outputs
from app.storage.base import THUMBNAIL, VIDEO, Result
from app.storage.scratch import ScratchFiles


@dataclass(frozen=True)
class LocalJobFiles(ScratchFiles):
    upload_root: Path

    def results(self, job_id: str) -> Path:
        return self.upload_root / "jobs" / job_id

    def result(self, job_id: str, result: Result) -> Path:
        return self.results(job_id) / result.name

    def video(self, job_id: str) -> Path:
        return self.result(job_id, VIDEO)

    def thumbnail(self, job_id: str) -> Path:
        return self.result(job_id, THUMBNAIL)

    def partial_outputs(self, job_id: str) -> Outputs:
        folder = self.results(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        return Outputs(folder / "video.part.mp4", folder / "thumbnail.part.jpg")

    def publish(self, job_id: str, partial: Outputs) -> None:
        partial.video.replace(self.video(job_id))
        partial.thumbnail.replace(self.thumbnail(job_id))

    def remove_all(self, job_id: str) -> None:
        self.remove_scratch(job_id)
        shutil.rmtree(self.results(job_id), ignore_errors=True)

    async def keep_upload(self, job_id: str, incoming: Path) -> None:
        self._keep_upload_here(job_id, incoming)

    async def local_source(self, job_id: str) -> Path:
        return self.source(job_id)

    async def local_result(self, job_id: str, result: Result, into: Path) -> Path | None:
        path = self.result(job_id, result)
        return path if path.is_file() else None

    async def serve(
        self, job_id: str, result: Result, request: Request, *, filename: str | None = None
    ) -> Response | None:
        path = self.result(job_id, result)
        if not path.is_file():
            return None
        # FileResponse answers Range requests itself.
        return FileResponse(
            path,
            media_type=result.media_type,
            filename=filename,
            content_disposition_type="inline",
        )
