"""The full stack's job store (Postgres) going away, with real Postgres, Redis and worker
processes: the API answers 503 with a clear body meanwhile, nothing queued is lost, and
everything recovers without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.conftest import Api
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401
from tests.redis_server import redis_server, redis_url  # noqa: F401
from tests.test_queue_workers import (  # noqa: F401
    WorkerProcess,
    medium_clip,
    start_worker,
    wait_for,
)


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:  # noqa: F811
    """An empty database for each test, on a server that is running again afterwards."""
    if not postgres_server.running():
        postgres_server.start()
    yield postgres_server.url_for(postgres_server.create_database())
    if not postgres_server.running():
        postgres_server.start()


def assert_unavailable(response_status: int, body: dict[str, str]) -> None:
    assert response_status == 503, body
    assert body["code"] in ("service_unavailable", "storage_unavailable")
    assert "\n" not in body["detail"]


def test_postgres_restart_while_jobs_are_queued_loses_nothing(
    make_api: Callable[..., Api],
    start_worker: Callable[..., WorkerProcess],  # noqa: F811
    medium_clip: Path,  # noqa: F811
    clips: dict[str, Path],
    postgres_server: PostgresServer,  # noqa: F811
    database_url: str,
    redis_url: str,  # noqa: F811
) -> None:
    api = make_api(redis_url=redis_url, database_url=database_url)
    start_worker(DATABASE_URL=database_url, WORKER_CONCURRENCY="1")
    running = api.upload(medium_clip).json()["id"]
    waiting = [api.upload(clips["mp4"]).json()["id"] for _ in range(2)]
    wait_for(
        lambda: api.client.get(f"/api/v1/jobs/{running}").json()["status"] == "processing",
        "the first job to start",
    )
    postgres_server.stop()
    listed = api.client.get("/api/v1/jobs")
    assert_unavailable(listed.status_code, listed.json())
    assert listed.json()["detail"] == "the job database is unavailable; try again shortly"
    refused = api.upload(clips["mp4"])
    assert_unavailable(refused.status_code, refused.json())
    time.sleep(3)  # the worker meets the outage: its jobs go back to the queue, not away
    postgres_server.start()
    for job_id in [running, *waiting]:
        assert api.wait(job_id, deadline_seconds=90)["status"] == "succeeded"
    assert api.client.get("/api/v1/jobs").json()["total"] == 3


def test_the_api_starts_without_its_database_and_recovers_without_a_restart(
    make_settings: Callable[..., Settings],
    postgres_server: PostgresServer,  # noqa: F811
    database_url: str,
) -> None:
    postgres_server.stop()
    with TestClient(create_app(make_settings(database_url=database_url))) as client:
        assert client.get("/health").status_code == 200
        refused = client.get("/api/v1/jobs")
        assert_unavailable(refused.status_code, refused.json())
        detailed = client.get("/health/detailed").json()
        assert "worker" in detailed["degraded_components"]
        postgres_server.start()
        wait_for(lambda: client.get("/api/v1/jobs").status_code == 200, "the store", 20)
