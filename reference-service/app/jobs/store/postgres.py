"""The server job store: Postgres (DATABASE_URL), shared by every API and worker replica.

Start-up and outages (decided, docs/service.md "The full stack"): Postgres unreachable when
the API starts -> connect() raises StoreUnavailable, the API logs that one line, serves
/health, the SPA and 503s on the job routes (/health/detailed shows the store down), and
tries again every few seconds until it connects; a worker logs the line and exits non-zero
(its orchestrator restarts it). Postgres lost after start -> each store call raises
StoreUnavailable, the job routes answer 503, and the next call after Postgres is back works
again (the pool tests connections before use), with no restart.

Imported only when DATABASE_URL is set: SQLAlchemy and asyncpg stay off the default start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from alembic.util import CommandError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import URL, RowMapping
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.jobs.models import Job, JobKind, JobStatus, utc_now
from app.jobs.store.base import StoreUnavailable
from app.jobs.store.migrations import upgrade
from app.jobs.store.postgres_connection import (
    is_unavailable,
    make_engine,
    normalize_url,
    unavailable_message,
)
from app.jobs.store.postgres_schema import jobs

_UPDATABLE = {"status", "error", "result"}
_MAX_BIGINT = 2**63 - 1
_COLUMNS = [column for column in jobs.c if column.name != "seq"]


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    # The form utc_now() writes, so a Job reads back exactly as it was stored.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _storable(value: Any) -> Any:
    """Postgres text and JSONB cannot hold NUL characters (SQLite can): each becomes U+FFFD,
    so recording a job never fails on one."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _row_to_job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        kind=JobKind(row["kind"]),
        status=JobStatus(row["status"]),
        created_at=_iso(row["created_at"]),
        updated_at=_iso(row["updated_at"]),
        error=row["error"],
        input=row["input"],
        result=row["result"],
    )


class PostgresJobStore:
    """Use `await PostgresJobStore.connect(database_url)`, and `await store.close()` at the end.

    Every method raises StoreUnavailable (one line, no password) when the server cannot be
    reached; other errors (a bad update key: ValueError) are as in SqliteJobStore.
    """

    def __init__(self, engine: AsyncEngine, url: URL) -> None:
        self._engine = engine
        self._url = url

    @classmethod
    async def connect(
        cls,
        database_url: str,
        *,
        connect_timeout: float = 5.0,
        command_timeout: float | None = 30.0,
    ) -> PostgresJobStore:
        """Check the server answers and migrate its schema to the newest revision.

        ValueError: DATABASE_URL is not a Postgres URL. StoreUnavailable: the server cannot
        be reached within connect_timeout seconds, or refused to migrate. Both one line.
        """
        url = normalize_url(database_url)
        engine = make_engine(url, connect_timeout, command_timeout)
        try:
            await upgrade(engine)
        except (SQLAlchemyError, OSError, TimeoutError, CommandError, TypeError) as exc:
            # TypeError: asyncpg refused an option given in the URL's query string.
            await engine.dispose()
            raise StoreUnavailable(unavailable_message(url, exc)) from exc
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, url)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as connection:
                yield connection
        except Exception as exc:
            if is_unavailable(exc):
                raise StoreUnavailable(unavailable_message(self._url, exc)) from exc
            raise

    async def add(self, job: Job) -> None:
        async with self._transaction() as db:
            await db.execute(
                insert(jobs).values(
                    id=job.id,
                    kind=job.kind.value,
                    status=job.status.value,
                    created_at=_timestamp(job.created_at),
                    updated_at=_timestamp(job.updated_at),
                    error=_storable(job.error),
                    input=_storable(job.input),
                    result=_storable(job.result),
                )
            )

    async def get(self, job_id: str) -> Job | None:
        async with self._transaction() as db:
            row = (await db.execute(select(*_COLUMNS).where(jobs.c.id == job_id))).first()
        return _row_to_job(row._mapping) if row else None

    async def page(self, limit: int, offset: int) -> tuple[list[Job], int]:
        # Postgres takes 64-bit limits only; past the last row every offset is the same page.
        query = (
            select(*_COLUMNS)
            .order_by(jobs.c.created_at.desc(), jobs.c.seq.desc())
            .limit(min(max(limit, 0), _MAX_BIGINT))
            .offset(min(max(offset, 0), _MAX_BIGINT))
        )
        async with self._transaction() as db:
            rows = (await db.execute(query)).all()
            total = (await db.execute(select(func.count()).select_from(jobs))).scalar_one()
        return [_row_to_job(row._mapping) for row in rows], int(total)

    async def update(self, job_id: str, **changes: Any) -> Job | None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        values: dict[str, Any] = {"updated_at": _timestamp(utc_now())}
        for key, value in changes.items():
            values[key] = JobStatus(value).value if key == "status" else _storable(value)
        statement = update(jobs).where(jobs.c.id == job_id).values(values).returning(*_COLUMNS)
        async with self._transaction() as db:
            row = (await db.execute(statement)).first()
        return _row_to_job(row._mapping) if row else None

    async def remove(self, job_id: str) -> None:
        async with self._transaction() as db:
            await db.execute(delete(jobs).where(jobs.c.id == job_id))

    async def fail_unfinished(self, reason: str) -> int:
        statement = (
            update(jobs)
            .where(jobs.c.status.in_([JobStatus.QUEUED.value, JobStatus.PROCESSING.value]))
            .values(
                status=JobStatus.FAILED.value,
                error=_storable(reason),
                updated_at=_timestamp(utc_now()),
            )
            .returning(jobs.c.id)
        )
        async with self._transaction() as db:
            return len((await db.execute(statement)).all())

    async def close(self) -> None:
        await self._engine.dispose()
