from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app


def test_health_body_is_exact(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "service": "ai-video-generation-pipeline"}


def test_ping(client: TestClient) -> None:
    response = client.get("/api/v1/ping")
    assert response.status_code == 200
    assert response.json() == {"ping": "pong"}


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Not Found", "code": "not_found"}


def test_detailed_reports_every_component(client: TestClient) -> None:
    body = client.get("/health/detailed").json()
    components = body["components"]
    assert {"ffmpeg", "ffprobe", "temp_dir", "upload_dir", "disk_space"} <= components.keys()
    assert components["ffmpeg"]["found"] and components["ffmpeg"]["version"].startswith("ffmpeg")
    assert components["ffprobe"]["version"].startswith("ffprobe")
    assert components["temp_dir"]["writable"] and components["upload_dir"]["writable"]
    assert components["disk_space"]["free_bytes"] > 0
    assert body["integrations"] == {
        "replicate": False,
        "database": False,
        "redis": False,
        "s3": False,
    }
    assert body["status"] == "healthy"


def test_detailed_never_shows_secret_values(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        replicate_api_token="r8_topsecret",
        database_url="postgresql://user:dbpass@db/v",
        aws_secret_access_key="awssecret",
        s3_bucket="b",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/detailed")
    assert response.json()["integrations"] == {
        "replicate": True,
        "database": True,
        "redis": False,
        "s3": True,
    }
    for secret in ("r8_topsecret", "dbpass", "awssecret"):
        assert secret not in response.text


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only directory")
def test_unwritable_dir_degrades(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with TestClient(create_app(make_settings(temp_dir=locked))) as client:
        body = client.get("/health/detailed").json()
    assert body["status"] == "degraded"
    assert body["components"]["temp_dir"]["writable"] is False


def test_dir_that_cannot_exist_degrades(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with TestClient(create_app(make_settings(upload_dir=blocker / "uploads"))) as client:
        response = client.get("/health/detailed")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert {"upload_dir", "worker"} <= set(body["degraded_components"])
    jobs = client.get("/api/v1/jobs")
    assert jobs.status_code == 503 and jobs.json()["code"] == "storage_unavailable"


def test_low_disk_threshold_degrades(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(disk_free_min_bytes=2**62))) as client:
        body = client.get("/health/detailed").json()
    assert body["status"] == "degraded"
    assert body["degraded_components"] == ["disk_space"]
    assert body["components"]["worker"]["ok"] is True


def test_missing_ffmpeg_degrades(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    body = client.get("/health/detailed").json()
    assert body["status"] == "degraded"
    assert body["components"]["ffmpeg"] == {
        "ok": False,
        "found": False,
        "error": "ffmpeg not found on PATH",
    }


def test_cors_allows_configured_origin_only(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(cors_origins="http://localhost:3000")
    with TestClient(create_app(settings)) as client:
        allowed = client.get("/api/v1/ping", headers={"Origin": "http://localhost:3000"})
        denied = client.get("/api/v1/ping", headers={"Origin": "http://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "access-control-allow-origin" not in denied.headers
