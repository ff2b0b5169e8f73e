"""What job file storage does: where a job's scratch files and results are written and read.

The routes, the handlers and the worker use this interface; `app.storage.local` is the
one implementation (files on local disk).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from app.services.pipeline import Outputs

# Job ids (app.jobs.models.new_job_id): files are kept under them, and the routes refuse
# any other id before asking the store.
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class JobFiles(Protocol):
    def scratch(self, job_id: str) -> Path: ...

    def source(self, job_id: str) -> Path: ...

    def results(self, job_id: str) -> Path: ...

    def video(self, job_id: str) -> Path: ...

    def thumbnail(self, job_id: str) -> Path: ...

    def partial_outputs(self, job_id: str) -> Outputs: ...

    def publish(self, job_id: str, partial: Outputs) -> None: ...

    def remove_scratch(self, job_id: str) -> None: ...

    def remove_all(self, job_id: str) -> None: ...

    def sweep_stale_scratch(self) -> None: ...
