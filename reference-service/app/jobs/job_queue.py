"""How job ids reach the worker. In-process by default; the interface is what a Redis-fed
queue (REDIS_URL, separate worker containers) would implement."""

from __future__ import annotations

import asyncio
from typing import Protocol


class JobQueue(Protocol):
    async def put(self, job_id: str) -> None: ...

    async def get(self) -> str: ...

    def depth(self) -> int: ...


class InProcessQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    async def put(self, job_id: str) -> None:
        await self._queue.put(job_id)

    async def get(self) -> str:
        return await self._queue.get()

    def depth(self) -> int:
        return self._queue.qsize()
