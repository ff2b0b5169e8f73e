"""The Postgres job store's schema migrations (Alembic), run from code: no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = Path(__file__).resolve().parent
# Its own name, so a database shared with another Alembic-managed app keeps both histories.
VERSION_TABLE = "jobs_alembic_version"
# Any fixed 64-bit key, the same in every replica of every release.
_LOCK_KEY = int.from_bytes(b"jobstore", "big")


def alembic_config() -> Config:
    config = Config()
    # ConfigParser interpolates '%': a path containing one must be escaped.
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection  # env.py runs on this one (and its transaction)
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision. Replicas starting together take turns: the
    transaction-scoped advisory lock is held until the migrations commit, so the next one
    finds them done; it is released even if this process dies."""
    async with engine.begin() as connection:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        await connection.run_sync(_upgrade)
