"""A job's scratch files: on this machine's disk whatever stores its results.

`<TEMP_DIR>/<job id>/` holds the upload itself, downloads and work in progress; it is
removed when the job ends.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from app.storage.base import JOB_ID_RE

# Uploads being received (app.api.upload_stream) are written to TEMP_DIR under this prefix.
INCOMING_PREFIX = "incoming-"


@dataclass(frozen=True)
class ScratchFiles:
    temp_root: Path

    def scratch(self, job_id: str) -> Path:
        return self.temp_root / job_id

    def source(self, job_id: str) -> Path:
        return self.scratch(job_id) / "source"

    def remove_scratch(self, job_id: str) -> None:
        shutil.rmtree(self.scratch(job_id), ignore_errors=True)

    def sweep_stale_scratch(self) -> None:
        """Left over from a previous process: only names this service creates are touched."""
        if not self.temp_root.is_dir():
            return
        for entry in self.temp_root.iterdir():
            if JOB_ID_RE.match(entry.name) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(INCOMING_PREFIX) and entry.is_file():
                entry.unlink(missing_ok=True)

    def _keep_upload_here(self, job_id: str, incoming: Path) -> Path:
        """The accepted upload becomes the job's source (a rename within TEMP_DIR)."""
        self.scratch(job_id).mkdir(parents=True)
        source = self.source(job_id)
        incoming.replace(source)
        return source
