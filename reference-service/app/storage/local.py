"""A job's files on local disk.

- scratch: `<TEMP_DIR>/<job id>/` (the upload itself, downloads); removed when the job ends.
- results: `<UPLOAD_DIR>/jobs/<job id>/video.mp4` and `thumbnail.jpg`; written under
  `.part` names and renamed, so a half-written file is never served.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from app.services.pipeline import Outputs
from app.storage.base import JOB_ID_RE

# Uploads being received (app.api.upload_stream) are written to TEMP_DIR under this prefix.
INCOMING_PREFIX = "incoming-"


@dataclass(frozen=True)
class LocalJobFiles:
    temp_root: Path
    upload_root: Path

    def scratch(self, job_id: str) -> Path:
        return self.temp_root / job_id

    def source(self, job_id: str) -> Path:
        return self.scratch(job_id) / "source"

    def results(self, job_id: str) -> Path:
        return self.upload_root / "jobs" / job_id

    def video(self, job_id: str) -> Path:
        return self.results(job_id) / "video.mp4"

    def thumbnail(self, job_id: str) -> Path:
        return self.results(job_id) / "thumbnail.jpg"

    def partial_outputs(self, job_id: str) -> Outputs:
        folder = self.results(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        return Outputs(folder / "video.part.mp4", folder / "thumbnail.part.jpg")

    def publish(self, job_id: str, partial: Outputs) -> None:
        partial.video.replace(self.video(job_id))
        partial.thumbnail.replace(self.thumbnail(job_id))

    def remove_scratch(self, job_id: str) -> None:
        shutil.rmtree(self.scratch(job_id), ignore_errors=True)

    def remove_all(self, job_id: str) -> None:
        self.remove_scratch(job_id)
        shutil.rmtree(self.results(job_id), ignore_errors=True)

    def sweep_stale_scratch(self) -> None:
        """Left over from a previous process: only names this service creates are touched."""
        if not self.temp_root.is_dir():
            return
        for entry in self.temp_root.iterdir():
            if JOB_ID_RE.match(entry.name) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(INCOMING_PREFIX) and entry.is_file():
                entry.unlink(missing_ok=True)
