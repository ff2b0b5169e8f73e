"""Runs one job: its handler, its status in the store, its files afterwards.

The same for every way a job reaches a worker: the in-process consumers
(app.jobs.worker) and the queue's worker containers (app.worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.jobs.models import Job, JobKind, JobStatus
from app.jobs.store import JobStore
from app.storage import JobFiles

logger = logging.getLogger("app.jobs.worker")

INTERNAL_ERROR = "internal error while processing the job; the service log has the details"
DISK_FULL = "the server ran out of disk space while processing the job; try again later"

Handler = Callable[[Job], Awaitable[dict[str, Any]]]


class JobFailed(Exception):
    """A job could not be done; the message (one line) becomes the job's `error`.

    The message is shown to clients, so it names no server paths and quotes no tool
    output; `diagnostic` carries those, for the log only.
    """

    def __init__(
        self, reason: str, *, client_fault: bool = False, diagnostic: str | None = None
    ) -> None:
        super().__init__(reason)
        # Bad input the client sent is routine (INFO); anything else is a fault (WARNING).
        self.client_fault = client_fault
        self.diagnostic = diagnostic


class JobRunner:
    def __init__(self, store: JobStore, files: JobFiles, handlers: dict[JobKind, Handler]) -> None:
        self.store = store
        self.files = files
        self.handlers = handlers

    async def _run_handler(self, job: Job) -> dict[str, Any]:
        try:
            return await self.handlers[job.kind](job)
        except OSError as exc:
            # A full disk is an operating condition with a plain answer, not a crash.
            if exc.errno != errno.ENOSPC:
                raise
            raise JobFailed(DISK_FULL, diagnostic=f"{type(exc).__name__}: {exc}") from None

    async def process(self, job: Job) -> None:
        """Run the job to its end. When cancelled, its files stay and the cancellation
        propagates: the caller decides what the job becomes (cancelled, or handed back
        to the queue, whose next worker needs the job's source)."""
        await self.store.update(job.id, status=JobStatus.PROCESSING)
        try:
            result = await self._run_handler(job)
        except asyncio.CancelledError:
            raise
        except JobFailed as exc:
            await asyncio.to_thread(self.files.remove_all, job.id)
            level = logging.INFO if exc.client_fault else logging.WARNING
            logger.log(
                level,
                "job %s (%s) failed: %s",
                job.id,
                job.kind.value,
                f"{exc} ({exc.diagnostic})" if exc.diagnostic else exc,
            )
            await self.store.update(job.id, status=JobStatus.FAILED, error=str(exc))
        except Exception:
            await asyncio.to_thread(self.files.remove_all, job.id)
            logger.exception("job %s (%s) crashed", job.id, job.kind.value)
            await self.store.update(job.id, status=JobStatus.FAILED, error=INTERNAL_ERROR)
        else:
            await self.store.update(job.id, status=JobStatus.SUCCEEDED, result=result)
            logger.info("job %s (%s) succeeded", job.id, job.kind.value)
        with contextlib.suppress(OSError):
            self.files.remove_scratch(job.id)
