"""The embedded job store: SQLite in the uploads volume."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from app.jobs.models import Job, JobKind, JobStatus, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    error TEXT,
    input TEXT NOT NULL,
    result TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at DESC, id DESC);
"""
_UPDATABLE = {"status", "error", "result"}
_SQLITE_MAX_INT = 2**63 - 1


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=JobKind(row["kind"]),
        status=JobStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        error=row["error"],
        input=json.loads(row["input"]),
        result=json.loads(row["result"]) if row["result"] else None,
    )


class SqliteJobStore:
    """One connection, serialised by a lock, used from worker threads so the event loop never
    blocks on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    async def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        def work() -> list[sqlite3.Row]:
            with self._lock:
                return self._db.execute(sql, args).fetchall()

        return await asyncio.to_thread(work)

    async def add(self, job: Job) -> None:
        await self._run(
            "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                job.kind.value,
                job.status.value,
                job.created_at,
                job.updated_at,
                job.error,
                json.dumps(job.input),
                json.dumps(job.result) if job.result is not None else None,
            ),
        )

    async def get(self, job_id: str) -> Job | None:
        rows = await self._run("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _row_to_job(rows[0]) if rows else None

    async def page(self, limit: int, offset: int) -> tuple[list[Job], int]:
        # SQLite binds 64-bit integers only; past the last row every offset is the same page.
        rows = await self._run(
            "SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (min(max(limit, 0), _SQLITE_MAX_INT), min(max(offset, 0), _SQLITE_MAX_INT)),
        )
        total = (await self._run("SELECT COUNT(*) AS n FROM jobs"))[0]["n"]
        return [_row_to_job(row) for row in rows], int(total)

    async def update(self, job_id: str, **changes: Any) -> Job | None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        values: dict[str, Any] = {"updated_at": utc_now()}
        for key, value in changes.items():
            if key == "status":
                value = JobStatus(value).value
            elif key == "result":
                value = json.dumps(value) if value is not None else None
            values[key] = value
        assignments = ", ".join(f"{key} = ?" for key in values)
        await self._run(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))
        return await self.get(job_id)

    async def remove(self, job_id: str) -> None:
        await self._run("DELETE FROM jobs WHERE id = ?", (job_id,))

    async def fail_unfinished(self, reason: str) -> int:
        rows = await self._run(
            "UPDATE jobs SET status = ?, error = ?, updated_at = ? "
            "WHERE status IN (?, ?) RETURNING id",
            (
                JobStatus.FAILED.value,
                reason,
                utc_now(),
                JobStatus.QUEUED.value,
                JobStatus.PROCESSING.value,
            ),
        )
        return len(rows)

    async def close(self) -> None:
        with self._lock:
            self._db.close()
