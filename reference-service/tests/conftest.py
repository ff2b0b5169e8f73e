from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app

SERVICE_ROOT = Path(__file__).resolve().parents[1]

# Variables a developer's shell might carry that would change what the tests see.
_SETTINGS_ENV = [name.upper() for name in Settings.model_fields]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        # Development: production refuses to start without API_KEYS (tests/test_security.py).
        values: dict[str, Any] = {
            "app_env": "development",
            "temp_dir": tmp_path / "temp",
            "upload_dir": tmp_path / "uploads",
            "static_dir": tmp_path / "no-dist",
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings())) as test_client:
        yield test_client


@pytest.fixture
def spa(make_settings: Callable[..., Settings], dist: Path) -> Iterator[TestClient]:
    """The app serving a built SPA: the `dist` fixture of the test's own module."""
    with TestClient(create_app(make_settings(static_dir=dist))) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS_ENV}
    env.update(
        PYTHONPATH=str(SERVICE_ROOT),
        APP_ENV="development",  # production needs API_KEYS; the tests that say so set them
        HOST="127.0.0.1",
        TEMP_DIR=str(tmp_path / "temp"),
        UPLOAD_DIR=str(tmp_path / "uploads"),
        STATIC_DIR=str(tmp_path / "no-dist"),
    )
    env.update(extra)
    return env


def run_module(
    module: str, env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        cwd=SERVICE_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class LiveService:
    """`python -m app` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app"],
            env=env,
            cwd=SERVICE_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, deadline_seconds: float = 30) -> None:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited early: {self.process.communicate()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("service did not become ready")

    def stop(self) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.terminate()
        out, err = self.process.communicate(timeout=15)
        return self.process.returncode, out, err


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[Callable[..., LiveService]]:
    started: list[LiveService] = []

    def start(**extra: str) -> LiveService:
        port = free_port()
        service = LiveService(service_env(tmp_path, PORT=str(port), **extra), port)
        started.append(service)
        service.wait_ready()
        return service

    yield start
    kill_leftovers(service.process for service in started)


def kill_leftovers(processes: Iterable[subprocess.Popen[Any]]) -> None:
    """What a test started and left running (a failed assertion, a hung process)."""
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


# --- the job pipeline -------------------------------------------------------------------

FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.media import make_clip

    folder = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_clip(folder / "clip.mp4"),
        "silent_odd": make_clip(
            folder / "odd.avi", seconds=1, size="161x121", audio=False, codec="mpeg4"
        ),
        "ffv1": make_clip(folder / "lossless.mkv", seconds=1, audio=False, codec="ffv1"),
        "moov_at_end": make_clip(folder / "late-moov.mp4", faststart=False),
    }


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough that normalising it is still running when a test acts on it."""
    from tests.media import make_clip

    folder = tmp_path_factory.mktemp("long")
    return make_clip(folder / "long.mp4", seconds=120, size="640x360", rate=30)


@dataclass
class Api:
    client: TestClient
    settings: Settings

    def upload(self, path: Path, name: str | None = None) -> httpx.Response:
        with path.open("rb") as handle:
            return self.client.post(
                "/api/v1/videos", files={"file": (name or path.name, handle, "video/mp4")}
            )

    def wait(self, job_id: str, deadline_seconds: float = 120) -> dict[str, Any]:
        """Poll until the job finishes; the deadline only guards against a hung test."""
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.client.get(f"/api/v1/videos/{job_id}").json()
            if job["status"] in FINISHED:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish: {job}")

    def leftovers(self) -> list[str]:
        """Files in TEMP_DIR: after every job and every rejected upload there must be none."""
        temp = self.settings.temp_dir
        return sorted(str(p.relative_to(temp)) for p in temp.rglob("*")) if temp.exists() else []


@pytest.fixture
def make_api(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Api]]:
    opened: list[TestClient] = []

    def factory(**overrides: Any) -> Api:
        settings = make_settings(**{"worker_concurrency": 2, **overrides})
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return Api(client, settings)

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
