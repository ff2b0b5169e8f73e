"""The server job queue: arq on Redis (REDIS_URL). Worker containers (app.worker) take the
jobs; any API replica puts them.

arq keeps a job in its queue until a worker finishes it, and marks it in progress only for
the job timeout: a job whose worker dies is started again by another worker (at least
once). Why arq: docs/service.md, "The full stack".
"""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.constants import health_check_key_suffix
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus as ArqJobStatus
from redis.exceptions import RedisError

from app.jobs.queue.base import QueueUnavailable

# The one function the workers run; its argument is the job id.
RUN_JOB = "run_job"
# How long a request waits for Redis before answering 503.
CONNECT_TIMEOUT_SECONDS = 3.0


def health_check_key(queue_name: str, host: str) -> str:
    """Where the worker on `host` records that it is alive (arq refreshes it each interval
    and lets it expire): one key per worker, so each healthcheck is about its own worker."""
    return f"{queue_name}{health_check_key_suffix}:{host}"


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = int(CONNECT_TIMEOUT_SECONDS)
    settings.conn_retries = 0
    return settings


def connect_lazily(url: str) -> ArqRedis:
    """A client that connects on first use (unlike arq.create_pool, which waits for Redis):
    the API starts, and answers 503 for submissions, while Redis is down."""
    settings = redis_settings(url)
    return ArqRedis(
        host=settings.host,
        port=settings.port,
        db=settings.database,
        username=settings.username,
        password=settings.password,
        ssl=settings.ssl,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )


class ArqJobQueue:
    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self.redis = redis
        self.queue_name = queue_name

    @classmethod
    def from_url(cls, url: str, queue_name: str) -> ArqJobQueue:
        return cls(connect_lazily(url), queue_name)

    async def put(self, job_id: str) -> None:
        try:
            # The job id is arq's job id too: a job is queued at most once.
            await self.redis.enqueue_job(
                RUN_JOB, job_id, _job_id=job_id, _queue_name=self.queue_name
            )
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(
                f"the job queue (Redis) is unavailable: {_reason(exc)}"
            ) from None

    async def abort(self, job_id: str, wait_seconds: float) -> None:
        """Stop the job on the worker running it (the worker polls for aborts), waiting
        up to `wait_seconds` for it to let go."""
        job = ArqJob(job_id, self.redis, _queue_name=self.queue_name)
        try:
            if await job.status() is not ArqJobStatus.in_progress:
                # Not started (or over): the worker that takes it finds it cancelled in
                # the job store and skips it, so nothing waits for a worker here.
                return
            await job.abort(timeout=wait_seconds)
        except TimeoutError:
            pass  # the worker has been told; it stops at its next poll
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(
                f"the job queue (Redis) is unavailable: {_reason(exc)}"
            ) from None

    async def health(self) -> dict[str, Any]:
        try:
            queued = await self.redis.zcard(self.queue_name)
            workers = 0
            async for _ in self.redis.scan_iter(match=health_check_key(self.queue_name, "*")):
                workers += 1
        except (RedisError, OSError) as exc:
            return {"ok": False, "error": f"Redis unavailable: {_reason(exc)}"}
        return {"ok": True, "queued": queued, "workers": workers}

    async def close(self) -> None:
        await self.redis.aclose()


def _reason(exc: BaseException) -> str:
    # redis-py's messages name the host and port, never the password.
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
