"""Where jobs are kept: the JobStore interface and the embedded SQLite store.

A Postgres-backed store (DATABASE_URL) would implement the same interface.
"""

from app.jobs.store.base import JobStore
from app.jobs.store.sqlite import SqliteJobStore

__all__ = ["JobStore", "SqliteJobStore"]
