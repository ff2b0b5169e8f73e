"""Runs queued jobs outside the request path, a bounded number at a time."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.jobs.models import Job, JobKind, JobStatus
from app.jobs.queue import JobQueue
from app.jobs.store import JobStore
from app.storage import JobFiles

logger = logging.getLogger(__name__)

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


class Worker:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        files: JobFiles,
        handlers: dict[JobKind, Handler],
        concurrency: int,
    ) -> None:
        self.store = store
        self.queue = queue
        self.files = files
        self.handlers = handlers
        self.concurrency = concurrency
        self._consumers: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self.files.sweep_stale_scratch()
        interrupted = await self.store.fail_unfinished("interrupted: the service restarted")
        if interrupted:
            logger.info("marked %d unfinished job(s) from a previous run as failed", interrupted)
        self._consumers = [
            asyncio.create_task(self._consume(), name=f"job-worker-{n}")
            for n in range(self.concurrency)
        ]

    async def stop(self) -> None:
        for task in self._consumers:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self._consumers = []

    async def submit(self, job: Job) -> None:
        await self.store.add(job)
        await self.queue.put(job.id)

    async def cancel(self, job_id: str) -> None:
        """Stop a running job (its FFmpeg process is killed) and wait until it has let go."""
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    def health(self) -> dict[str, Any]:
        alive = sum(1 for task in self._consumers if not task.done())
        return {
            "ok": alive == self.concurrency,
            "concurrency": self.concurrency,
            "alive": alive,
            "running": len(self._running),
            "queued": self.queue.depth(),
        }

    async def _consume(self) -> None:
        while True:
            job_id = await self.queue.get()
            job = await self.store.get(job_id)
            if job is None or job.status is not JobStatus.QUEUED:
                continue  # deleted or cancelled while it waited
            task = asyncio.create_task(self._process(job), name=f"job-{job_id}")
            self._running[job_id] = task
            try:
                # asyncio.wait, not await: a cancelled job must not stop this consumer.
                await asyncio.wait({task})
            except asyncio.CancelledError:
                task.cancel()
                await asyncio.wait({task})
                raise
            finally:
                self._running.pop(job_id, None)

    async def _run_handler(self, job: Job) -> dict[str, Any]:
        try:
            return await self.handlers[job.kind](job)
        except OSError as exc:
            # A full disk is an operating condition with a plain answer, not a crash.
            if exc.errno != errno.ENOSPC:
                raise
            raise JobFailed(DISK_FULL, diagnostic=f"{type(exc).__name__}: {exc}") from None

    async def _process(self, job: Job) -> None:
        await self.store.update(job.id, status=JobStatus.PROCESSING)
        try:
            result = await self._run_handler(job)
        except asyncio.CancelledError:
            self.files.remove_all(job.id)
            raise
        except JobFailed as exc:
            self.files.remove_all(job.id)
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
            self.files.remove_all(job.id)
            logger.exception("job %s (%s) crashed", job.id, job.kind.value)
            await self.store.update(job.id, status=JobStatus.FAILED, error=INTERNAL_ERROR)
        else:
            await self.store.update(job.id, status=JobStatus.SUCCEEDED, result=result)
            logger.info("job %s (%s) succeeded", job.id, job.kind.value)
        finally:
            with contextlib.suppress(OSError):
                self.files.remove_scratch(job.id)
