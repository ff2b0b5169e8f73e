"""`python -m app.worker`: a worker container's process (the same image as the API, another
command). It takes jobs from the Redis queue (REDIS_URL) and runs them; any number of
workers on any number of hosts share one queue. `python -m app.worker --check` is its
healthcheck: exit 0 when the worker of this host (container) checked in within the last
interval.

A job is started at least once: when its worker dies (SIGKILL, a lost host), arq gives it
to another worker once the job timeout has passed; after JOB_MAX_TRIES starts it ends
`failed` with the reason. On SIGTERM the worker takes no new job, lets its jobs run for
WORKER_STOP_WAIT_SECONDS, then hands the rest back to the queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from typing import Any

from arq import Retry
from arq.worker import Worker, async_check_health, func
from redis.exceptions import RedisError

from app.backends import build_job_files, build_job_handlers, open_job_store
from app.core.config import Settings, load_settings
from app.core.logging_setup import configure_logging
from app.jobs.models import JobStatus
from app.jobs.queue.arq_queue import RUN_JOB, health_check_key, redis_settings
from app.jobs.runner import JobRunner
from app.jobs.store import StoreUnavailable

logger = logging.getLogger("app.worker")

EXIT_BAD_CONFIG = 2
EXIT_UNAVAILABLE = 3
# How often a running worker refreshes its health-check key in Redis.
HEALTH_CHECK_SECONDS = 10
# While the job store is down, a job goes back to the queue for this long, again and
# again: an outage delays jobs, it never loses them (nor counts as a try).
STORE_RETRY_SECONDS = 3
STORE_OUTAGE_TRIES = 10_000
# Redis waits at start-up: the worker may start before the queue server.
START_RETRIES = 10


def _started_key(settings: Settings, job_id: str) -> str:
    return f"{settings.queue_name}:started:{job_id}"


async def run_job(ctx: dict[str, Any], job_id: str) -> None:
    runner: JobRunner = ctx["runner"]
    settings: Settings = ctx["settings"]
    redis = ctx["redis"]
    try:
        job = await runner.store.get(job_id)
        if job is None or job.status.finished:
            return  # deleted or cancelled before it started
        # Starts are counted by this key, not by arq's tries, which store outages add to.
        started = await redis.incr(_started_key(settings, job_id))
        await redis.expire(_started_key(settings, job_id), 7 * 24 * 3600)
        if started > settings.job_max_tries:
            # Its source too (kept in S3 for the next start, which will not come).
            await asyncio.to_thread(runner.files.remove_all, job_id)
            reason = (
                f"the job was interrupted {settings.job_max_tries} times (its worker stopped "
                "or died while running it); it is not tried again"
            )
            logger.warning("job %s failed: %s", job_id, reason)
            await runner.store.update(job_id, status=JobStatus.FAILED, error=reason)
            return
        if started > 1:
            logger.info(
                "job %s: start %d of %d, after an interrupted one",
                job_id,
                started,
                settings.job_max_tries,
            )
        try:
            await runner.process(job)
        except asyncio.CancelledError:
            current = await runner.store.get(job_id)
            if current is not None and not current.status.finished:
                # Shutting down, not cancelled by request: another worker takes it.
                await runner.store.update(job_id, status=JobStatus.QUEUED)
                logger.info("job %s handed back to the queue", job_id)
            raise
    except StoreUnavailable as exc:
        logger.warning("job %s waits for the job store: %s", job_id, exc)
        await redis.decr(_started_key(settings, job_id))
        raise Retry(defer=STORE_RETRY_SECONDS) from None


def build_worker(settings: Settings, runner: JobRunner, **overrides: Any) -> Worker:
    assert settings.redis_url is not None
    connection = redis_settings(settings.redis_url)
    connection.conn_retries = START_RETRIES
    options: dict[str, Any] = {
        "functions": [func(run_job, name=RUN_JOB, max_tries=STORE_OUTAGE_TRIES)],
        "redis_settings": connection,
        "queue_name": settings.queue_name,
        "max_jobs": settings.worker_concurrency,
        "job_timeout": settings.job_timeout_seconds,
        # The job's outcome is in the job store; arq keeps its own only long enough for
        # a cancellation to see the job stop.
        "keep_result": 60,
        "allow_abort_jobs": True,
        "job_completion_wait": settings.worker_stop_wait_seconds,
        "health_check_interval": HEALTH_CHECK_SECONDS,
        # Its own key: a worker's healthcheck is about this worker, not any of the queue's.
        "health_check_key": health_check_key(settings.queue_name, socket.gethostname()),
        "ctx": {"runner": runner, "settings": settings},
        **overrides,
    }
    return Worker(**options)


def stop_on_signals() -> None:
    """Until arq's worker installs its own handlers: a stop signal ends the start-up. As
    PID 1 of a container the process would otherwise ignore SIGTERM (no default action
    for PID 1) while it connects, and be killed at the end of the stop grace period."""
    loop, starting = asyncio.get_running_loop(), asyncio.current_task()
    assert starting is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, starting.cancel)


async def serve(settings: Settings) -> int:
    stop_on_signals()
    try:
        store = await open_job_store(settings)
    except StoreUnavailable as exc:
        logger.error("cannot start: %s", exc)
        return EXIT_UNAVAILABLE
    except asyncio.CancelledError:
        return 0  # stopped while starting
    files = build_job_files(settings)
    if settings.s3_configured:
        # Scratch is then this container's own: what is there, its previous process left.
        # With local storage TEMP_DIR is shared with the API and the other workers (the
        # sources of queued jobs are there), so it is not swept.
        files.sweep_stale_scratch()
    runner = JobRunner(store, files, build_job_handlers(settings, files).table())
    worker = build_worker(settings, runner)
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        pass  # a signal stopped it
    except (OSError, RedisError) as exc:
        logger.error("cannot start: the job queue (Redis) is unavailable: %s", exc)
        return EXIT_UNAVAILABLE
    finally:
        await worker.close()
        await store.close()
    return 0


async def check(settings: Settings) -> int:
    assert settings.redis_url is not None
    key = health_check_key(settings.queue_name, socket.gethostname())
    return await async_check_health(redis_settings(settings.redis_url), key, settings.queue_name)


def main(argv: list[str]) -> int:
    settings = load_settings()
    if isinstance(settings, str):
        print(settings, file=sys.stderr)
        return EXIT_BAD_CONFIG
    if not settings.redis_url:
        print(
            "configuration error: REDIS_URL is not set (a worker takes its jobs from the "
            "Redis queue)",
            file=sys.stderr,
        )
        return EXIT_BAD_CONFIG
    configure_logging(settings.log_level, settings.log_health_probes)
    if argv[1:] == ["--check"]:
        return asyncio.run(check(settings))
    if argv[1:]:
        print(f"usage: python -m app.worker [--check] (not {' '.join(argv[1:])})", file=sys.stderr)
        return EXIT_BAD_CONFIG
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
