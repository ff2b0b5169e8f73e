"""One contract for every job store: SQLite (embedded) and Postgres (DATABASE_URL) behave alike.

Then what only the Postgres store has: migrations under a lock, `python -m app.migrate`, and
StoreUnavailable (one line, no password) while the server is down, recovered without restart.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.jobs.models import Job, JobKind, JobStatus
from app.jobs.store import JobStore, SqliteJobStore, StoreUnavailable
from app.jobs.store.postgres import PostgresJobStore
from app.jobs.store.postgres_connection import normalize_url
from tests.conftest import run_module, service_env
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401

T = TypeVar("T")
OpenStore = Callable[[], Awaitable[JobStore]]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PASSWORD = "pa55-w0rd-never-shown"
OLD = "2020-01-01T00:00:00.000Z"


@pytest.fixture(scope="session")
def contract_database(postgres_server: PostgresServer) -> str:  # noqa: F811
    """A database migrated once for the contract tests; each test empties its table."""
    name = postgres_server.create_database()
    url = postgres_server.url_for(name)

    async def migrate() -> None:
        await (await PostgresJobStore.connect(url)).close()

    asyncio.run(migrate())
    return name


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens an empty store of the parameter's kind (in the test's own event loop)."""
    if request.param == "sqlite":

        async def open_sqlite() -> JobStore:
            return SqliteJobStore(tmp_path / "jobs.sqlite3")

        return open_sqlite
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database: str = request.getfixturevalue("contract_database")
    server.sql("TRUNCATE jobs RESTART IDENTITY", database=database)
    url = server.url_for(database, PASSWORD)

    async def open_postgres() -> JobStore:
        return await PostgresJobStore.connect(url)

    return open_postgres


def run(open_store: OpenStore, scenario: Callable[[JobStore], Awaitable[T]]) -> T:
    async def main() -> T:
        store = await open_store()
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def job(created_at: str | None = None, **fields: Any) -> Job:
    values: dict[str, Any] = {"kind": JobKind.UPLOAD, "input": {"filename": "a.mp4"}, **fields}
    if created_at is not None:
        values["created_at"] = created_at
    return Job(**values)


# --- the contract ---------------------------------------------------------------------


def test_add_then_get_returns_the_same_job(open_store: OpenStore) -> None:
    stored = job(error=None, status=JobStatus.QUEUED)

    async def scenario(store: JobStore) -> tuple[Job | None, Job | None]:
        await store.add(stored)
        return await store.get(stored.id), await store.get("0" * 32)

    found, missing = run(open_store, scenario)
    assert found == stored and missing is None
    assert ISO.match(found.created_at) and found.updated_at == found.created_at


def test_page_is_newest_first_then_latest_added_with_total(open_store: OpenStore) -> None:
    older = job("2024-01-01T00:00:00.000Z")
    first, second = job("2024-06-01T12:00:00.000Z"), job("2024-06-01T12:00:00.000Z")
    newest = job("2025-01-01T00:00:00.001Z")

    async def scenario(store: JobStore) -> list[tuple[list[str], int]]:
        for item in (first, older, newest, second):
            await store.add(item)
        pages = []
        for limit, offset in [(20, 0), (2, 0), (2, 2), (2, 4), (0, 0), (1, 3)]:
            jobs, total = await store.page(limit, offset)
            pages.append(([item.id for item in jobs], total))
        return pages

    order = [newest.id, second.id, first.id, older.id]
    assert run(open_store, scenario) == [
        (order, 4),
        (order[:2], 4),
        (order[2:], 4),
        ([], 4),
        ([], 4),
        (order[3:], 4),
    ]


@pytest.mark.parametrize("offset", [2**63 - 1, 2**63, 10**30])
def test_page_past_64_bit_limits_and_offsets_is_empty(open_store: OpenStore, offset: int) -> None:
    async def scenario(store: JobStore) -> tuple[list[Job], int]:
        await store.add(job())
        return await store.page(2**70, offset)

    assert run(open_store, scenario) == ([], 1)


def test_update_changes_fields_and_updated_at(open_store: OpenStore) -> None:
    stored = job(OLD)

    async def scenario(store: JobStore) -> list[Job | None]:
        await store.add(stored)
        steps = [
            await store.update(stored.id, status=JobStatus.PROCESSING),
            await store.update(stored.id, status="succeeded", result={"duration": 1.5}),
            await store.update(stored.id, error="boom", result=None),
            await store.update(stored.id),
        ]
        return [*steps, await store.get(stored.id)]

    processing, succeeded, errored, touched, final = run(open_store, scenario)
    assert processing is not None and processing.status is JobStatus.PROCESSING
    assert succeeded is not None and succeeded.status is JobStatus.SUCCEEDED
    assert succeeded.result == {"duration": 1.5} and succeeded.error is None
    assert errored is not None and errored.error == "boom" and errored.result is None
    assert errored.status is JobStatus.SUCCEEDED  # what is not named is kept
    assert touched is not None and final == touched
    for step in (processing, succeeded, errored, touched):
        assert step.created_at == OLD and ISO.match(step.updated_at)
        assert step.updated_at > OLD and step.input == stored.input
    assert processing.updated_at <= succeeded.updated_at <= errored.updated_at


def test_update_refuses_other_fields_and_unknown_statuses(open_store: OpenStore) -> None:
    stored = job()

    async def scenario(store: JobStore) -> list[str]:
        await store.add(stored)
        refused = []
        attempts: list[dict[str, Any]] = [{"input": {}}, {"created_at": OLD}, {"status": "done"}]
        for changes in attempts:
            try:
                await store.update(stored.id, **changes)
            except ValueError as exc:
                refused.append(str(exc).splitlines()[0])
        assert await store.get(stored.id) == stored
        return refused

    refused = run(open_store, scenario)
    assert refused[:2] == ["cannot update ['input']", "cannot update ['created_at']"]
    assert len(refused) == 3


def test_update_of_an_unknown_id_returns_none(open_store: OpenStore) -> None:
    async def scenario(store: JobStore) -> tuple[Job | None, int]:
        await store.add(job())
        missing = await store.update("0" * 32, status=JobStatus.FAILED, error="x")
        return missing, (await store.page(10, 0))[1]

    assert run(open_store, scenario) == (None, 1)


def test_remove_deletes_one_job_and_ignores_unknown_ids(open_store: OpenStore) -> None:
    kept, removed = job(), job()

    async def scenario(store: JobStore) -> tuple[Job | None, Job | None, list[str], int]:
        await store.add(kept)
        await store.add(removed)
        await store.remove(removed.id)
        await store.remove(removed.id)
        await store.remove("0" * 32)
        jobs, total = await store.page(10, 0)
        return await store.get(removed.id), await store.get(kept.id), [j.id for j in jobs], total

    assert run(open_store, scenario) == (None, kept, [kept.id], 1)


def test_fail_unfinished_touches_only_queued_and_processing(open_store: OpenStore) -> None:
    jobs = {status: job(OLD, status=status, error=f"was {status}") for status in JobStatus}

    async def scenario(store: JobStore) -> tuple[int, dict[JobStatus, Job | None], int]:
        for item in jobs.values():
            await store.add(item)
        count = await store.fail_unfinished("interrupted")
        after = {status: await store.get(item.id) for status, item in jobs.items()}
        return count, after, await store.fail_unfinished("again")

    count, after, second_count = run(open_store, scenario)
    assert count == 2 and second_count == 0
    for status, found in after.items():
        assert found is not None
        if status in (JobStatus.QUEUED, JobStatus.PROCESSING):
            assert found.status is JobStatus.FAILED and found.error == "interrupted"
            assert found.updated_at > OLD and ISO.match(found.updated_at)
        else:
            assert found == jobs[status]


def test_input_and_result_round_trip_as_json(open_store: OpenStore) -> None:
    value: dict[str, Any] = {
        "filename": "plage à Nice — 夏 🎬.mp4",
        "prompt": 'quotes " and \\ backslash\nnewline\ttab',
        "nested": {"list": [1, -2, 3.25, True, False, None, "x"], "empty": {}, "none": []},
        "big": 2**62,
        "float": 12.345,
        "small": 1e-7,
        "null": None,
    }
    stored = job(input=value, result={**value, "duration": 3.0, "width": 1920})

    async def scenario(store: JobStore) -> tuple[Job | None, Job | None]:
        await store.add(stored)
        got = await store.get(stored.id)
        return got, await store.update(stored.id, result={"again": value})

    got, updated = run(open_store, scenario)
    assert got is not None and got.input == value and got.result == stored.result
    assert isinstance(got.result, dict) and isinstance(got.result["duration"], float)
    assert updated is not None and updated.result == {"again": value}


def test_concurrent_adds_are_all_kept(open_store: OpenStore) -> None:
    created = [job() for _ in range(40)]

    async def scenario(store: JobStore) -> tuple[set[str], int]:
        await asyncio.gather(*(store.add(item) for item in created))
        await asyncio.gather(*(store.update(item.id, status="processing") for item in created))
        jobs, total = await store.page(100, 0)
        assert all(item.status is JobStatus.PROCESSING for item in jobs)
        return {item.id for item in jobs}, total

    assert run(open_store, scenario) == ({item.id for item in created}, len(created))


# --- Postgres only --------------------------------------------------------------------


@pytest.fixture
def fresh_url(postgres_server: PostgresServer) -> str:  # noqa: F811
    """A new, never-migrated database, addressed with a password that must never show."""
    return postgres_server.url_for(postgres_server.create_database(), PASSWORD)


def database_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def assert_one_clean_line(message: str) -> None:
    assert message and "\n" not in message.strip(), message
    assert PASSWORD not in message and "Traceback" not in message, message


def test_migrations_twice_are_idempotent_and_keep_the_data(
    postgres_server: PostgresServer,  # noqa: F811
    fresh_url: str,
) -> None:
    stored = job()

    async def scenario() -> Job | None:
        first = await PostgresJobStore.connect(fresh_url)
        await first.add(stored)
        await first.close()
        second = await PostgresJobStore.connect(fresh_url)
        try:
            return await second.get(stored.id)
        finally:
            await second.close()

    assert asyncio.run(scenario()) == stored
    database = database_of(fresh_url)
    assert postgres_server.sql("SELECT version_num FROM jobs_alembic_version", database) == "0001"
    indexes = postgres_server.sql(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_created'", database
    )
    assert "created_at DESC, seq DESC" in indexes


def test_replicas_connecting_at_once_take_turns_migrating(
    postgres_server: PostgresServer,  # noqa: F811
    fresh_url: str,
) -> None:
    async def scenario() -> int:
        stores = await asyncio.gather(*(PostgresJobStore.connect(fresh_url) for _ in range(6)))
        try:
            await asyncio.gather(*(store.add(job()) for store in stores))
            return (await stores[0].page(10, 0))[1]
        finally:
            await asyncio.gather(*(store.close() for store in stores))

    assert asyncio.run(scenario()) == 6
    count = postgres_server.sql("SELECT count(*) FROM jobs_alembic_version", database_of(fresh_url))
    assert count == "1"


def test_migrate_command_upgrades_and_exits_0(
    postgres_server: PostgresServer,  # noqa: F811
    fresh_url: str,
    tmp_path: Path,
) -> None:
    done = run_module("app.migrate", service_env(tmp_path, DATABASE_URL=fresh_url))
    assert done.returncode == 0, done.stderr
    assert_one_clean_line(done.stdout)
    assert done.stderr == ""
    version = postgres_server.sql(
        "SELECT version_num FROM jobs_alembic_version", database_of(fresh_url)
    )
    assert version == "0001"
    again = run_module("app.migrate", service_env(tmp_path, DATABASE_URL=fresh_url))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    "database_url",
    [
        f"postgresql://jobs:{PASSWORD}@127.0.0.1:{{port}}/jobs",
        f"mysql://jobs:{PASSWORD}@127.0.0.1:{{port}}/jobs",
        "",
    ],
    ids=["unreachable", "not-postgres", "unset"],
)
def test_migrate_command_failure_is_one_line_and_exit_1(
    tmp_path: Path, database_url: str, closed_port: int
) -> None:
    env = service_env(tmp_path, DATABASE_URL=database_url.format(port=closed_port))
    done = run_module("app.migrate", env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert_one_clean_line(done.stderr)
    assert "DATABASE_URL" in done.stderr or "unavailable" in done.stderr


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound and released: refused when connected to)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung or firewalled server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def test_connect_to_a_closed_port_fails_fast_without_the_password(closed_port: int) -> None:
    url = f"postgres://jobs:{PASSWORD}@127.0.0.1:{closed_port}/jobs"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        asyncio.run(PostgresJobStore.connect(url))
    assert time.monotonic() - started < 5
    assert_one_clean_line(str(raised.value))
    assert f"127.0.0.1:{closed_port}/jobs" in str(raised.value)


def test_connect_to_a_server_that_never_answers_times_out(silent_port: int) -> None:
    url = f"postgresql+asyncpg://jobs:{PASSWORD}@127.0.0.1:{silent_port}/jobs"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        asyncio.run(PostgresJobStore.connect(url, connect_timeout=1))
    assert 0.9 < time.monotonic() - started < 4
    assert_one_clean_line(str(raised.value))


def test_the_default_connect_timeout_is_a_few_seconds() -> None:
    import inspect

    default = inspect.signature(PostgresJobStore.connect).parameters["connect_timeout"].default
    assert 1 <= default <= 10


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/jobs", "postgresql+asyncpg://u:p@db:5432/jobs"),
        ("postgres://u:p@db/jobs", "postgresql+asyncpg://u:p@db/jobs"),
        ("postgresql+asyncpg://u@db/jobs", "postgresql+asyncpg://u@db/jobs"),
        ("postgres://u:p@db/jobs?sslmode=require", "postgresql+asyncpg://u:p@db/jobs?ssl=require"),
    ],
)
def test_database_url_forms_are_driven_by_asyncpg(given: str, used: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == used


def test_a_url_that_is_not_postgres_is_a_value_error() -> None:
    for url in (
        f"mysql://u:{PASSWORD}@h/db",
        "not a url at all",
        f"postgresql://u:{PASSWORD}@h:x/d",
    ):
        with pytest.raises(ValueError) as raised:
            asyncio.run(PostgresJobStore.connect(url))
        assert_one_clean_line(str(raised.value))


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[PostgresJobStore]:
    store = await PostgresJobStore.connect(url)
    try:
        yield store
    finally:
        await store.close()


def test_every_method_is_unavailable_while_postgres_is_down_then_works(
    postgres_server: PostgresServer,  # noqa: F811
    fresh_url: str,
) -> None:
    stored = job()

    async def scenario() -> tuple[list[str], Job | None, int]:
        async with connected(fresh_url) as store:
            await store.add(stored)
            calls: list[Callable[[], Awaitable[Any]]] = [
                lambda: store.add(job()),
                lambda: store.get(stored.id),
                lambda: store.page(10, 0),
                lambda: store.update(stored.id, status="processing"),
                lambda: store.remove(stored.id),
                lambda: store.fail_unfinished("x"),
            ]
            postgres_server.stop()
            messages = []
            try:
                for call in calls:
                    with pytest.raises(StoreUnavailable) as raised:
                        await call()
                    messages.append(str(raised.value))
            finally:
                postgres_server.start()
            return messages, await store.get(stored.id), (await store.page(10, 0))[1]

    messages, found, total = asyncio.run(scenario())
    assert len(messages) == 6
    for message in messages:
        assert_one_clean_line(message)
    assert found == stored and total == 1


def test_a_restart_between_calls_is_invisible(
    postgres_server: PostgresServer,  # noqa: F811
    fresh_url: str,
) -> None:
    """Pooled connections die with the server; the next call tests them and reconnects."""
    stored = job()

    async def scenario() -> tuple[Job | None, Job | None]:
        async with connected(fresh_url) as store:
            await asyncio.gather(store.add(stored), store.page(1, 0), store.get(stored.id))
            postgres_server.restart()
            found = await store.get(stored.id)
            updated = await store.update(stored.id, status="processing")
            return found, updated

    found, updated = asyncio.run(scenario())
    assert found == stored
    assert updated is not None and updated.status is JobStatus.PROCESSING


def test_nul_characters_are_stored_as_replacement_characters(fresh_url: str) -> None:
    """Postgres text cannot hold NUL (SQLite can): recording the job must not fail on one."""
    stored = job(input={"prompt": "a\x00b"})

    async def scenario() -> tuple[Job | None, Job | None]:
        async with connected(fresh_url) as store:
            await store.add(stored)
            return await store.get(stored.id), await store.update(stored.id, error="e\x00")

    got, updated = asyncio.run(scenario())
    assert got is not None and got.input == {"prompt": "a\ufffdb"}
    assert updated is not None and updated.error == "e\ufffd"
