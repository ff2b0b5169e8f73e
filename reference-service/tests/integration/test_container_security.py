"""Who gets in, how often, and the headers, against the running image: API keys (and one
removed by a restart), the production start-up refusal, a burst of uploads past the
limit, the security headers and no Server header; no key ever reaches the log."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.container import IMAGE, LABEL, RunningService, run_service, wait_job
from tests.media import Runner, make_clip

KEY_A = "integration-key-a-0123456789abcdef01234567"
KEY_B = "integration-key-b-0123456789abcdef01234567"
WRONG = "integration-key-x-0123456789abcdef01234567"
UPLOAD_LIMIT = 3
JOB_ID = "0" * 32
# Every route under /api/v1 but ping (tests/test_security.py checks this list is complete).
PROTECTED = [
    ("POST", "/api/v1/videos"),
    ("POST", "/api/v1/videos/compose"),
    ("GET", f"/api/v1/videos/{JOB_ID}"),
    ("GET", f"/api/v1/videos/{JOB_ID}/file"),
    ("GET", f"/api/v1/videos/{JOB_ID}/thumbnail"),
    ("POST", "/api/v1/generations"),
    ("GET", f"/api/v1/generations/{JOB_ID}"),
    ("GET", "/api/v1/jobs"),
    ("GET", f"/api/v1/jobs/{JOB_ID}"),
    ("DELETE", f"/api/v1/jobs/{JOB_ID}"),
]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def uploads_volume(docker: Any) -> Iterator[str]:
    """UPLOAD_DIR kept across a restart, as a deployment's volume would be."""
    volume = docker.volumes.create(f"svc-it-uploads-{uuid.uuid4().hex[:10]}", labels={LABEL: "1"})
    yield volume.name
    volume.remove(force=True)


@pytest.fixture(scope="module")
def secured(docker: Any, uploads_volume: str) -> Iterator[RunningService]:
    """The image as shipped (production), with two keys, DEBUG logs and a low upload limit."""
    environment = {
        "API_KEYS": f"{KEY_A},{KEY_B}",
        "LOG_LEVEL": "DEBUG",
        "RATE_LIMIT_UPLOADS": f"{UPLOAD_LIMIT}/minute",
    }
    volumes = {uploads_volume: {"bind": "/app/uploads", "mode": "rw"}}
    with run_service(docker, environment=environment, volumes=volumes) as running:
        yield running


@pytest.fixture(scope="module")
def tiny_clip(workdir: Path, tool: Runner) -> Path:
    return make_clip(workdir / "tiny.mp4", run=tool, seconds=0.5, size="96x64", rate=10)


def post_clip(url: str, path: Path, key: str) -> httpx.Response:
    with path.open("rb") as handle:
        return httpx.post(
            f"{url}/api/v1/videos",
            headers=bearer(key),
            files={"file": (path.name, handle, "video/mp4")},
            timeout=60,
        )


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == "unauthorized" and body["detail"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("key", [None, WRONG], ids=["no-key", "wrong-key"])
def test_protected_routes_refuse_without_a_valid_key(
    secured: RunningService, method: str, path: str, key: str | None
) -> None:
    headers = bearer(key) if key else {}
    assert_unauthorized(httpx.request(method, secured.url + path, headers=headers, timeout=10))


def test_public_routes_need_no_key(secured: RunningService) -> None:
    for path in ("/health", "/health/detailed", "/api/v1/ping", "/openapi.json", "/"):
        response = httpx.get(secured.url + path, headers={"Accept": "text/html"}, timeout=30)
        assert response.status_code == 200, (path, response.text[:200])


def test_a_valid_key_uploads_and_downloads(secured: RunningService, tiny_clip: Path) -> None:
    response = post_clip(secured.url, tiny_clip, KEY_A)
    assert response.status_code == 202, response.text
    job = wait_job(secured.url, response.json()["id"], 120, headers=bearer(KEY_A))
    assert job["status"] == "succeeded", job
    file_url = secured.url + job["result"]["file_url"]
    assert httpx.get(file_url, headers=bearer(KEY_B), timeout=60).content[4:8] == b"ftyp"
    assert_unauthorized(httpx.get(file_url, timeout=10))
    listed = httpx.get(f"{secured.url}/api/v1/jobs", headers=bearer(KEY_B), timeout=10)
    assert job["id"] in [item["id"] for item in listed.json()["items"]]


def test_security_headers_and_no_server_header(secured: RunningService) -> None:
    answers = {
        "/": httpx.get(secured.url + "/", headers={"Accept": "text/html"}, timeout=10),
        "/health": httpx.get(secured.url + "/health", timeout=10),
        "/api/v1/jobs": httpx.get(secured.url + "/api/v1/jobs", headers=bearer(KEY_A), timeout=10),
        "/api/v1/jobs (401)": httpx.get(secured.url + "/api/v1/jobs", timeout=10),
    }
    assert answers["/"].headers["content-type"].startswith("text/html")
    for name, response in answers.items():
        assert response.status_code in (200, 401), name
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get_list(header) == [value], (name, header)
        assert "server" not in response.headers, (name, response.headers["server"])


def test_a_burst_of_uploads_past_the_limit_is_429(secured: RunningService, tiny_clip: Path) -> None:
    # KEY_B has sent no upload yet (the other tests upload with KEY_A).
    burst = UPLOAD_LIMIT * 2
    with ThreadPoolExecutor(max_workers=burst) as pool:
        answers = list(pool.map(lambda _: post_clip(secured.url, tiny_clip, KEY_B), range(burst)))
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [202] * UPLOAD_LIMIT + [429] * (burst - UPLOAD_LIMIT), statuses
    for response in answers:
        if response.status_code == 429:
            assert response.json()["code"] == "rate_limited"
            assert f"{UPLOAD_LIMIT}/minute" in response.json()["detail"]
            assert 1 <= int(response.headers["retry-after"]) <= 60
            assert response.headers["content-security-policy"] == CSP
    # Counted per key: another key's uploads are still welcome.
    assert post_clip(secured.url, tiny_clip, KEY_A).status_code == 202


def test_a_key_removed_from_api_keys_is_refused_after_a_restart(
    docker: Any, secured: RunningService, uploads_volume: str
) -> None:
    listed = httpx.get(f"{secured.url}/api/v1/jobs", headers=bearer(KEY_A), timeout=10)
    assert listed.status_code == 200
    secured.container.stop(timeout=10)
    # The same uploads volume, the keys rotated: KEY_A revoked, KEY_B kept.
    volumes = {uploads_volume: {"bind": "/app/uploads", "mode": "rw"}}
    with run_service(docker, environment={"API_KEYS": KEY_B}, volumes=volumes) as restarted:
        assert_unauthorized(
            httpx.get(f"{restarted.url}/api/v1/jobs", headers=bearer(KEY_A), timeout=10)
        )
        kept = httpx.get(f"{restarted.url}/api/v1/jobs", headers=bearer(KEY_B), timeout=10)
        assert kept.status_code == 200
        assert kept.json()["total"] == listed.json()["total"] > 0
        logs = restarted.logs()
    assert "API key authentication on (1 keys)" in logs
    for key in (KEY_A, KEY_B, WRONG):
        assert key not in logs


def test_no_key_reaches_the_log(secured: RunningService) -> None:
    # Runs after the others in this module (pytest keeps file order): the whole DEBUG log.
    logs = secured.logs()
    assert "API key authentication on (2 keys)" in logs
    assert re.search(r'"GET /api/v1/jobs HTTP/1.1" 401', logs)
    for key in (KEY_A, KEY_B, WRONG):
        assert key not in logs


def run_to_exit(docker: Any, environment: dict[str, str]) -> tuple[int, str]:
    container = docker.containers.run(
        IMAGE, detach=True, environment=environment, labels={LABEL: "1"}
    )
    try:
        status = container.wait(timeout=60)
        return int(status["StatusCode"]), container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def test_production_without_keys_refuses_to_start_in_one_line(docker: Any) -> None:
    started = time.monotonic()
    code, logs = run_to_exit(docker, {})
    assert code != 0
    lines = logs.splitlines()
    assert len(lines) == 1, logs
    assert "API_KEYS" in lines[0] and "AUTH_DISABLED" in lines[0], lines[0]
    assert "Traceback" not in logs
    assert time.monotonic() - started < 30


def test_auth_disabled_starts_open_in_production(docker: Any) -> None:
    # Something in front (an ALB with OIDC, say) authenticates: the service lets all in.
    environment = {"API_KEYS": "", "AUTH_DISABLED": "true"}
    with run_service(docker, environment=environment) as running:
        assert running.headers == {}
        response = httpx.get(f"{running.url}/api/v1/jobs", timeout=10)
        assert response.status_code == 200
        assert "AUTH_DISABLED=true" in running.logs()
