"""The API side of jobs that worker containers run (REDIS_URL): jobs are stored, then
put on the queue; this process runs none of them (no FFmpeg in the API container)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from app.jobs.models import Job
from app.jobs.queue import QueueUnavailable
from app.jobs.store import JobStore
from app.storage import JobFiles

if TYPE_CHECKING:
    from app.jobs.queue.arq_queue import ArqJobQueue

logger = logging.getLogger(__name__)

# How long a cancellation waits for the worker running the job to let go of it.
CANCEL_WAIT_SECONDS = 5.0


class QueuedJobs:
    def __init__(self, store: JobStore, queue: ArqJobQueue, files: JobFiles) -> None:
        self.store = store
        self.queue = queue
        self.files = files

    async def start(self) -> None:
        """Nothing to recover here: a job whose worker died is started again by another."""

    async def stop(self) -> None:
        await self.queue.close()

    async def submit(self, job: Job) -> None:
        await self.store.add(job)
        try:
            await self.queue.put(job.id)
        except QueueUnavailable:
            # Not accepted: nothing of it stays behind, and the client is told to retry.
            await self.store.remove(job.id)
            await asyncio.to_thread(self.files.remove_all, job.id)
            raise

    async def cancel(self, job_id: str) -> None:
        await self.queue.abort(job_id, CANCEL_WAIT_SECONDS)

    async def health(self) -> dict[str, Any]:
        queue = await self.queue.health()
        if queue["ok"] and not queue["workers"]:
            # Jobs would wait forever: worth a degraded status.
            return {**queue, "ok": False, "mode": "queue", "error": "no worker is running"}
        return {**queue, "mode": "queue"}
