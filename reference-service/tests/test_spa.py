from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app

INDEX = "<!doctype html><html><body><div id=app></div></body></html>"
JS_NAME = "index-Bx8e3Kq_.js"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / JS_NAME).write_text("console.log('app')")
    (root / "assets" / "style-a1B2c3D4.css").write_text("body{}")
    (root / "assets" / "plain.txt").write_text("no hash")
    (root / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / "secret.txt").write_text("outside the bundle")
    return root


HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def test_root_serves_index_uncached(spa: TestClient) -> None:
    response = spa.get("/", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == INDEX


@pytest.mark.parametrize("path", ["/jobs/123", "/a/b/c", "/videos"])
def test_client_routes_fall_back_to_index(spa: TestClient, path: str) -> None:
    response = spa.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["vary"] == "Accept"


def test_head_on_client_route(spa: TestClient) -> None:
    response = spa.head("/jobs/1", headers=HTML)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("path", ["/", "/jobs/123"])
def test_json_requests_never_get_html(spa: TestClient, path: str) -> None:
    response = spa.get(path, headers=JSON)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wildcard_accept_gets_page_routes_but_not_missing_files(spa: TestClient) -> None:
    assert spa.get("/jobs/7", headers={"Accept": "*/*"}).text == INDEX
    assert spa.get("/missing.js", headers={"Accept": "*/*"}).status_code == 404


def test_post_to_client_route_is_not_html(spa: TestClient) -> None:
    response = spa.post("/jobs/123", headers=HTML)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_hashed_assets_are_immutable(spa: TestClient) -> None:
    js = spa.get(f"/assets/{JS_NAME}")
    css = spa.get("/assets/style-a1B2c3D4.css")
    assert js.status_code == css.status_code == 200
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert js.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")


def test_unhashed_asset_is_revalidated(spa: TestClient) -> None:
    assert spa.get("/assets/plain.txt").headers["cache-control"] == "no-cache"


def test_top_level_dist_file_is_served(spa: TestClient) -> None:
    response = spa.get("/favicon.ico")
    assert response.status_code == 200
    assert response.content == b"\x00\x00\x01\x00"


@pytest.mark.parametrize("headers", [HTML, JSON, {}])
def test_missing_asset_is_404_never_index(spa: TestClient, headers: dict[str, str]) -> None:
    response = spa.get("/assets/index-DoesNotExist.js", headers=headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "asset not found", "code": "not_found"}


@pytest.mark.parametrize(
    "raw_path",
    [
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/assets/%252e%252e%252f%252e%252e%252fsecret.txt",
        "/assets/..%5c..%5csecret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/assets/%00secret.txt",
    ],
)
def test_traversal_never_leaves_dist(spa: TestClient, raw_path: str) -> None:
    # Sent raw: httpx would otherwise normalise the dots away before they reach the app.
    response = spa.request("GET", "http://testserver" + raw_path, headers=HTML)
    assert "outside the bundle" not in response.text


def test_traversal_of_assets_is_404(spa: TestClient) -> None:
    response = spa.request("GET", "http://testserver/assets/%2e%2e%2f%2e%2e%2fsecret.txt")
    assert response.status_code == 404


def test_api_and_health_take_precedence(spa: TestClient) -> None:
    assert spa.get("/api/v1/ping", headers=HTML).json() == {"ping": "pong"}
    assert spa.get("/health", headers=HTML).json()["status"] == "healthy"
    unknown = spa.get("/api/v1/unknown", headers=HTML)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/json"
    assert spa.get("/health/unknown", headers=HTML).status_code == 404
    assert spa.get("/api", headers=HTML).status_code == 404


def test_disabled_turns_everything_off(make_settings: Callable[..., Settings], dist: Path) -> None:
    settings = make_settings(static_dir=dist, enable_static_files=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/", headers=HTML).status_code == 404
        assert client.get("/jobs/1", headers=HTML).status_code == 404
        assert client.get(f"/assets/{JS_NAME}").status_code == 404
        assert client.get("/api/v1/ping").json() == {"ping": "pong"}


def test_without_index_the_service_still_runs(
    make_settings: Callable[..., Settings], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    with TestClient(create_app(make_settings(static_dir=tmp_path / "empty"))) as client:
        assert client.get("/", headers=HTML).status_code == 404
        assert client.get("/health").status_code == 200
    notes = [r for r in caplog.records if "static file serving is off" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelname == "INFO"
