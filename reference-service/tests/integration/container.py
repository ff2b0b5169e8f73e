"""Run the built reference image for tests and benchmarks (docker SDK, loopback port, labelled,
always removed). The image starts in production, which needs API keys: every container gets
API_KEY unless its caller configures API_KEYS itself, and requests send AUTH."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import docker
import docker.errors
import httpx
import pytest

from tests.media import Runner

IMAGE = os.environ.get("SERVICE_IMAGE", "ai-video-backend:latest")
LABEL = "ai-video-reference-service-tests"
# The key of the test containers (not a secret: they listen on loopback and live for a test).
API_KEY = "reference-service-tests-key-0000000000000000"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# Set by the tox env that exists for these tests: there a missing daemon or image fails.
REQUIRED = "docker" in os.environ.get("TESTS_REQUIRE_PREREQUISITES", "").split(",")


def missing(what: str) -> NoReturn:
    """A prerequisite is absent: an error where these tests are the point, else a skip."""
    if REQUIRED:
        pytest.fail(what, pytrace=False)
    pytest.skip(what)


def docker_client() -> Any:
    """The docker SDK client of a daemon that answers, and an image to test."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        missing(f"no Docker daemon answers ({exc}): start one (scripts/ensure-docker.sh)")
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        missing(f"image {IMAGE} is not built: scripts/build-backend.sh builds it")
    return client


def image_tool(client: Any, workdir: Path) -> Runner:
    """Runs the image's own ffmpeg/ffprobe on files in ``workdir`` (mounted at the same
    path, as the caller's uid): the host needs no FFmpeg of its own."""

    def run(tool: str, args: list[str]) -> str:
        output = client.containers.run(
            IMAGE,
            args,
            entrypoint=[tool],
            user=f"{os.getuid()}:{os.getgid()}",
            volumes={str(workdir): {"bind": str(workdir), "mode": "rw"}},
            labels={LABEL: "1"},
            network_disabled=True,
            remove=True,
            stdout=True,
            stderr=False,
        )
        return bytes(output).decode()

    return run


@dataclass
class RunningService:
    container: Any
    url: str
    # What its API routes need: the bearer header of its first key, or nothing without keys.
    headers: dict[str, str] = field(default_factory=lambda: dict(AUTH))

    def logs(self) -> str:
        return str(self.container.logs().decode(errors="replace"))


def bearer(keys: str) -> dict[str, str]:
    """The header for the first of API_KEYS's comma-separated keys; none without keys."""
    first = keys.split(",")[0].strip()
    return {"Authorization": f"Bearer {first}"} if first else {}


@contextmanager
def run_service(
    client: Any,
    image: str = IMAGE,
    environment: Mapping[str, str] | None = None,
    **run_options: Any,
) -> Iterator[RunningService]:
    env = {"API_KEYS": API_KEY, **(environment or {})}
    container = client.containers.run(
        image,
        detach=True,
        name=f"svc-it-{uuid.uuid4().hex[:10]}",
        labels={LABEL: "1"},
        ports={"8000/tcp": ("127.0.0.1", None)},
        environment=env,
        **run_options,
    )
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
        service = RunningService(container, f"http://127.0.0.1:{port}", bearer(env["API_KEYS"]))
        wait_healthy(service)
        yield service
    finally:
        container.remove(force=True)


def wait_healthy(service: RunningService, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # docker-proxy resets connections until the app listens
        time.sleep(0.1)
    raise RuntimeError(f"{IMAGE} did not answer /health; last logs:\n{service.logs()[-2000:]}")


def wait_job(
    url: str, job_id: str, deadline_seconds: float = 300, headers: Mapping[str, str] = AUTH
) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(
            f"{url}/api/v1/videos/{job_id}", headers=headers, timeout=10
        ).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not finish")
