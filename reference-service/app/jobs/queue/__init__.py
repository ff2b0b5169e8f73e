"""How job ids reach a worker: the JobQueue interface, the in-process queue, and (imported
only when REDIS_URL is set) the arq queue in app.jobs.queue.arq_queue."""

from app.jobs.queue.base import JobQueue, QueueUnavailable
from app.jobs.queue.memory import InProcessQueue

__all__ = ["InProcessQueue", "JobQueue", "QueueUnavailable"]
