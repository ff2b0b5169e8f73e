"""What job file storage does: where a job's scratch files and results are written and read.

The routes, the handlers and the worker use this interface. Scratch files are always on
local disk (`app.storage.scratch`); the results are on local disk too (`app.storage.local`)
or objects in S3 (`app.storage.s3`, when S3_BUCKET is set). So nothing outside this
package assumes a result is a local path: it is served (`serve`) or copied to a local
file (`local_result`) through the interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.services.pipeline import Outputs

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

# Job ids (app.jobs.models.new_job_id): files are kept under them, and the routes refuse
# any other id before asking the store.
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Result:
    """One published file of a job: its name under the job, and the type it is served as."""

    name: str
    media_type: str


VIDEO = Result("video.mp4", "video/mp4")
THUMBNAIL = Result("thumbnail.jpg", "image/jpeg")


class StorageUnavailable(Exception):
    """The result store could not be reached or refused the request.

    `reason` is plain words a client may see (no bucket, endpoint, key or credential);
    `diagnostic` says what failed where, for the log only.
    """

    def __init__(self, reason: str, diagnostic: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.diagnostic = diagnostic


class JobFiles(Protocol):
    """A job's files. The synchronous methods other than `publish` and `remove_all` only
    touch local disk; those two may wait on the network (S3): call them from a thread
    when on the event loop. The async methods do their own waiting off the loop."""

    def scratch(self, job_id: str) -> Path: ...

    def source(self, job_id: str) -> Path: ...

    def partial_outputs(self, job_id: str) -> Outputs:
        """Where the job's encode writes its results, never served as they are."""
        ...

    def publish(self, job_id: str, partial: Outputs) -> None:
        """Make the partial outputs the job's results, whole or not at all (each file).

        Raises StorageUnavailable when the store cannot take them."""
        ...

    def remove_scratch(self, job_id: str) -> None: ...

    def remove_all(self, job_id: str) -> None:
        """The job's scratch files and every durable file of it; never raises (a store
        that cannot be reached is logged)."""
        ...

    def sweep_stale_scratch(self) -> None: ...

    async def keep_upload(self, job_id: str, incoming: Path) -> None:
        """An accepted upload (a file in TEMP_DIR) becomes the job's source.

        Raises StorageUnavailable when it has to be stored for another machine and cannot."""
        ...

    async def local_source(self, job_id: str) -> Path:
        """The job's source as a local file (fetched where another machine took the upload);
        a path that does not exist when it is gone. Raises StorageUnavailable."""
        ...

    async def local_result(self, job_id: str, result: Result, into: Path) -> Path | None:
        """A published result as a local file: the file itself on local disk, otherwise a
        copy in the directory `into` (a scratch directory). None when it is not there.
        Raises StorageUnavailable."""
        ...

    async def serve(
        self, job_id: str, result: Result, request: Request, *, filename: str | None = None
    ) -> Response | None:
        """A response with the result (honouring a `Range` request), shown inline under
        `filename` if given; None when it is not there. Raises StorageUnavailable."""
        ...
