"""How job ids reach the worker: the JobQueue interface and the in-process queue.

A Redis-fed queue (REDIS_URL, separate worker containers) would implement the same
interface.
"""

from app.jobs.queue.base import JobQueue
from app.jobs.queue.memory import InProcessQueue

__all__ = ["InProcessQueue", "JobQueue"]
