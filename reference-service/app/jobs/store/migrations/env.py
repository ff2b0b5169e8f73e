"""Alembic's entry point. The store hands it a connection in a transaction holding the
migration lock (see upgrade() in this package); run by the alembic command instead, it
opens its own async engine from sqlalchemy.url."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.jobs.store.migrations import VERSION_TABLE
from app.jobs.store.postgres_schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


async def run_on_own_engine(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        # `alembic upgrade --sql`: the SQL for a DBA to review and run.
        url = context.config.get_main_option("sqlalchemy.url")
        context.configure(
            url=url, target_metadata=metadata, version_table=VERSION_TABLE, literal_binds=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
    else:
        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("set sqlalchemy.url (postgresql+asyncpg://...) to run migrations")
        asyncio.run(run_on_own_engine(url))


main()
