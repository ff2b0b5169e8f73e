"""Run the built reference image for tests and benchmarks (docker SDK, loopback port, labelled,
always removed)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

IMAGE = os.environ.get("SERVICE_IMAGE", "ai-video-backend:latest")
LABEL = "ai-video-reference-service-tests"


def docker_client() -> Any:
    """The docker SDK client, or None when there is no daemon or no SDK."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception:
        return None
    return client


def image_present(client: Any, image: str = IMAGE) -> bool:
    try:
        client.images.get(image)
    except Exception:
        return False
    return True


@dataclass
class RunningService:
    container: Any
    url: str

    def logs(self) -> str:
        return str(self.container.logs().decode(errors="replace"))


@contextmanager
def run_service(client: Any, image: str = IMAGE, **run_options: Any) -> Iterator[RunningService]:
    container = client.containers.run(
        image,
        detach=True,
        name=f"svc-it-{uuid.uuid4().hex[:10]}",
        labels={LABEL: "1"},
        ports={"8000/tcp": ("127.0.0.1", None)},
        **run_options,
    )
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
        service = RunningService(container, f"http://127.0.0.1:{port}")
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


def wait_job(url: str, job_id: str, deadline_seconds: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(f"{url}/api/v1/videos/{job_id}", timeout=10).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not finish")
