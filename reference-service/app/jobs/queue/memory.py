"""The embedded job queue: an asyncio queue inside the service's process."""

from __future__ import annotations

import asyncio


class InProcessQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    async def put(self, job_id: str) -> None:
        await self._queue.put(job_id)

    async def get(self) -> str:
        return await self._queue.get()

    def depth(self) -> int:
        return self._queue.qsize()
