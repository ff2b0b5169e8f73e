"""The real entrypoint and healthcheck, as the image runs them."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveService, free_port, run_module, service_env

NOISY = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")


def test_healthcheck_passes_against_live_service(
    live_service: Callable[..., LiveService], tmp_path: Path
) -> None:
    service = live_service()
    result = run_module("app.healthcheck", service_env(tmp_path, PORT=str(service.port)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "healthy"


def test_healthcheck_fails_when_nothing_serves(tmp_path: Path) -> None:
    result = run_module("app.healthcheck", service_env(tmp_path, PORT=str(free_port())))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0]


class _FakeHealth(BaseHTTPRequestHandler):
    status = 200
    body = b'{"status": "degraded"}'

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, b'{"status": "degraded"}', "reported"),
        (200, b"<html>", "did not return JSON"),
        (500, b"{}", "HTTP 500"),
    ],
)
def test_healthcheck_fails_on_unhealthy_answers(
    tmp_path: Path, status: int, body: bytes, reason: str
) -> None:
    handler = type("Handler", (_FakeHealth,), {"status": status, "body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = service_env(tmp_path, PORT=str(server.server_address[1]))
        result = run_module("app.healthcheck", env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert reason in result.stderr


def test_clean_start_traffic_and_sigterm(live_service: Callable[..., LiveService]) -> None:
    service = live_service(REPLICATE_API_TOKEN="r8_never_logged", LOG_LEVEL="info")
    for path in ("/health", "/health/detailed", "/api/v1/ping", "/api/v1/missing", "/nope"):
        httpx.get(service.url + path, timeout=10)
    code, out, err = service.stop()
    assert code == 0
    logs = out + err
    assert "Application startup complete" in out
    assert "Finished server process" in out
    assert not NOISY.search(logs), logs
    assert "r8_never_logged" not in logs
    assert err == ""


@pytest.mark.parametrize("probes_logged", [False, True])
def test_successful_health_probes_are_not_logged_unless_asked(
    live_service: Callable[..., LiveService], probes_logged: bool
) -> None:
    """The runtime's probes would fill the log; every other request, and a probe that
    does not answer 2xx, still gets its access line (LOG_HEALTH_PROBES=true: all do)."""
    service = live_service(LOG_HEALTH_PROBES=str(probes_logged).lower())
    for method, path in [("GET", "/health"), ("POST", "/health"), ("GET", "/health/detailed"),
                         ("GET", "/api/v1/ping")]:  # fmt: skip
        httpx.request(method, service.url + path, timeout=10)
    code, out, _ = service.stop()
    assert code == 0
    assert ('"GET /health HTTP/1.1" 200' in out) is probes_logged, out
    assert '"POST /health HTTP/1.1" 405' in out
    assert '"GET /health/detailed HTTP/1.1" 200' in out
    assert '"GET /api/v1/ping HTTP/1.1" 200' in out


def test_log_level_is_honoured(live_service: Callable[..., LiveService]) -> None:
    service = live_service(LOG_LEVEL="WARNING")
    httpx.get(service.url + "/health", timeout=5)
    code, out, _ = service.stop()
    assert code == 0
    assert out == ""


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def test_sigterm_during_a_job_stops_cleanly(
    live_service: Callable[..., LiveService], long_clip: Path, tmp_path: Path
) -> None:
    service = live_service()
    with long_clip.open("rb") as handle:
        job = httpx.post(
            f"{service.url}/api/v1/videos", files={"file": ("long.mp4", handle)}, timeout=60
        ).json()
    deadline = time.monotonic() + 60
    while httpx.get(f"{service.url}/api/v1/videos/{job['id']}").json()["status"] == "queued":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    code, out, err = service.stop()
    assert code == 0
    assert not NOISY.search(out + err), out + err
    assert "Finished server process" in out
    # The job's FFmpeg process was killed with the service, not orphaned.
    assert processes_mentioning(str(tmp_path / "temp")) == []
