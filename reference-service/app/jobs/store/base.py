"""What a job store does: the interface the worker and the routes use."""

from __future__ import annotations

from typing import Any, Protocol

from app.jobs.models import Job


class StoreUnavailable(Exception):
    """The job store's server cannot be reached (or refused to prepare the database).

    The message is one line and never contains a password, so it can be logged as it is;
    the job routes answer 503 and the next call after the server is back works again.
    """


class JobStore(Protocol):
    async def add(self, job: Job) -> None: ...

    async def get(self, job_id: str) -> Job | None: ...

    async def page(self, limit: int, offset: int) -> tuple[list[Job], int]: ...

    async def update(self, job_id: str, **changes: Any) -> Job | None: ...

    async def remove(self, job_id: str) -> None: ...

    async def fail_unfinished(self, reason: str) -> int: ...

    async def close(self) -> None: ...
