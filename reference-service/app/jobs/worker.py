"""The embedded way jobs run: consumers in the service's own process take job ids from
the in-process queue, a bounded number at a time (app.worker is the other way)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.jobs.models import Job, JobKind, JobStatus
from app.jobs.queue import JobQueue
from app.jobs.runner import DISK_FULL, INTERNAL_ERROR, Handler, JobFailed, JobRunner
from app.jobs.store import JobStore
from app.storage import JobFiles

# The handlers and tests import these from here too.
__all__ = ["DISK_FULL", "INTERNAL_ERROR", "Handler", "JobFailed", "Worker"]

logger = logging.getLogger(__name__)


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
        self.runner = JobRunner(store, files, handlers)
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

    async def health(self) -> dict[str, Any]:
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

    async def _process(self, job: Job) -> None:
        try:
            await self.runner.process(job)
        except asyncio.CancelledError:
            # Cancelled by request or by shutdown: nothing of it is kept (at once, not in
            # a thread: the task is being cancelled).
            self.files.remove_all(job.id)
            raise
