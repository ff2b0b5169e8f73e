"""Where jobs are kept: the JobStore interface and the embedded SQLite store.

The Postgres store (DATABASE_URL) implements the same interface; import it from
app.jobs.store.postgres only when configured, so SQLAlchemy stays off the default start-up.
"""

from app.jobs.store.base import JobStore, StoreUnavailable
from app.jobs.store.sqlite import SqliteJobStore

__all__ = ["JobStore", "SqliteJobStore", "StoreUnavailable"]
