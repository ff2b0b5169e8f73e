"""What a job queue does: how job ids reach the worker."""

from __future__ import annotations

from typing import Protocol


class QueueUnavailable(Exception):
    """The queue server did not answer: one line for the client and the log, no URL."""


class JobQueue(Protocol):
    async def put(self, job_id: str) -> None: ...

    async def get(self) -> str: ...

    def depth(self) -> int: ...
