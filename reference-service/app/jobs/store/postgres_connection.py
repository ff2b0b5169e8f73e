"""How the Postgres store reaches its server: the URL, the engine, and which errors mean
the server is unavailable (as opposed to a bug in a query)."""

from __future__ import annotations

from collections.abc import Iterator

from asyncpg import exceptions as pg_errors
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}
_EXAMPLE = "postgresql://user:password@host:5432/database"

# Server-side reasons a statement fails that say nothing about the statement: the server is
# shutting down or starting (class 57), the connection broke (08), no slot is free (53).
_SERVER_GONE = (
    pg_errors.PostgresConnectionError,
    pg_errors.OperatorInterventionError,
    pg_errors.InsufficientResourcesError,
)


def normalize_url(raw: str) -> URL:
    """DATABASE_URL as the asyncpg driver takes it; ValueError (one line, no secret) if it is
    not a Postgres URL."""
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError(f"DATABASE_URL is not a URL such as {_EXAMPLE}") from None
    if url.drivername not in _POSTGRES_SCHEMES:
        raise ValueError(f"DATABASE_URL must start with postgresql:// (got {url.drivername}://)")
    url = url.set(drivername="postgresql+asyncpg")
    if "sslmode" in url.query:
        # libpq's (and most providers') name for it; asyncpg takes the same values as `ssl`.
        mode = url.query["sslmode"]
        url = url.difference_update_query(["sslmode"])
        if "ssl" not in url.query:
            url = url.update_query_dict({"ssl": mode})
    return url


def make_engine(url: URL, connect_timeout: float, command_timeout: float | None) -> AsyncEngine:
    return create_async_engine(
        url,
        # A pooled connection is tested before use: after Postgres restarts, the stale ones
        # are replaced instead of failing the next request.
        pool_pre_ping=True,
        connect_args={"timeout": connect_timeout, "command_timeout": command_timeout},
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: SQLAlchemy's .orig, then each explicit `from` cause (an
    implicit __context__ is only what was being handled, often a lookup that missed)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def is_unavailable(exc: BaseException) -> bool:
    """True when the error is the server (or the way to it), not the statement."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return any(
        isinstance(item, (OSError, TimeoutError, PoolTimeout, *_SERVER_GONE))
        for item in _chain(exc)
    )


def _reason(exc: BaseException) -> str:
    innermost = list(_chain(exc))[-1]
    lines = str(innermost).strip().splitlines()
    if lines:
        return lines[0]
    return "timed out" if isinstance(innermost, TimeoutError) else type(innermost).__name__


def unavailable_message(url: URL, exc: BaseException) -> str:
    """One line naming the server (password hidden) and why it cannot be used."""
    text = f"job store unavailable: {url.render_as_string(hide_password=True)}: {_reason(exc)}"
    if url.password:
        text = text.replace(str(url.password), "***")
    return " ".join(text.split())[:500]
