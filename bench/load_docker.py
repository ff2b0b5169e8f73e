"""Containers for bench/load.py: labelled, published on 127.0.0.1 only, always removed.

Every container this run starts carries the label LABEL=<run id>; `Fleet.close()` removes
them by that label as well as by handle, so one interrupted between `docker run` and
getting its handle back is removed too.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx

LABEL = "ai-video-bench-load"
PORT = "8000/tcp"
# The controls module, mounted read-only where PYTHONPATH finds it.
CONTROLS = Path(__file__).with_name("load_controls.py")
CONTROLS_DIR = "/bench-load"
READY_SECONDS = 60


class BenchError(Exception):
    """The benchmark cannot run; the message is the one line to print."""


@dataclass
class Service:
    name: str
    container: Any
    url: str


@dataclass
class Fleet:
    client: Any
    image: str
    # Given to every container (API_KEYS: production refuses to start without keys).
    environment: dict[str, str] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    started: list[Any] = field(default_factory=list)

    def run(
        self, name: str, control: str | None = None, image: str | None = None, **env: str
    ) -> Service:
        """Start the image (its own CMD, or `python -m load_controls <control>`) detached,
        its port published on 127.0.0.1 only."""
        options: dict[str, Any] = {}
        if control is not None:
            options["command"] = ["python", "-m", "load_controls", control]
            options["volumes"] = {
                str(CONTROLS): {"bind": f"{CONTROLS_DIR}/load_controls.py", "mode": "ro"}
            }
            env = {"PYTHONPATH": CONTROLS_DIR, **env}
            # The image's HEALTHCHECK starts a Python process every 30 s: in a control it
            # would only take CPU from whatever is being measured at that moment.
            options["healthcheck"] = {"test": ["NONE"]}
        env = {**self.environment, **env}
        container = self.client.containers.run(
            image or self.image,
            detach=True,
            name=f"bench-load-{name}-{self.run_id}",
            labels={LABEL: self.run_id},
            ports={PORT: ("127.0.0.1", None)},
            environment=env,
            **options,
        )
        self.started.append(container)
        return Service(name, container, loopback_url(container))

    def remove(self, service: Service) -> None:
        service.container.remove(force=True)
        self.started.remove(service.container)

    def close(self) -> None:
        found = self.client.containers.list(all=True, filters={"label": f"{LABEL}={self.run_id}"})
        for container in {c.id: c for c in [*self.started, *found]}.values():
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        self.started.clear()


def connect(image: str) -> Any:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise BenchError(f"no Docker daemon answers ({exc})") from None
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise BenchError(
            f"image {image} not found: bash scripts/build-backend.sh builds it"
        ) from None
    return client


def loopback_url(container: Any) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(PORT)
        if bindings:
            host, port = bindings[0]["HostIp"], bindings[0]["HostPort"]
            if host != "127.0.0.1":
                raise BenchError(f"{container.name}: port published on {host}, not 127.0.0.1")
            return f"http://127.0.0.1:{port}"
        if container.status == "exited":
            break
        time.sleep(0.1)
    logs = container.logs().decode(errors="replace").strip().splitlines()
    raise BenchError(f"{container.name} did not publish its port: {(logs or ['no output'])[-1]}")


def wait_ok(service: Service, path: str, seconds: float = READY_SECONDS) -> float:
    """Poll `path` every 10 ms until it answers 200; return the seconds waited."""
    start = time.perf_counter()
    with httpx.Client(timeout=2) as http:
        while time.perf_counter() - start < seconds:
            try:
                if http.get(service.url + path).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass  # docker-proxy resets connections until the server listens
            time.sleep(0.01)
    logs = service.container.logs().decode(errors="replace").strip().splitlines()
    raise BenchError(
        f"{service.name}: no 200 on {path} within {seconds:.0f} s; last log line: "
        f"{(logs or ['none'])[-1]}"
    )


class _AssetLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and value.startswith("/assets/"):
                self.links.append(value)


def spa_asset(service: Service) -> str:
    """The first /assets/ file the served index.html links to (the entry script)."""
    page = httpx.get(service.url + "/", headers={"Accept": "text/html"}, timeout=10)
    parser = _AssetLinks()
    parser.feed(page.text)
    if page.status_code != 200 or not parser.links:
        raise BenchError(f"GET / answered {page.status_code} without an /assets/ link")
    return parser.links[0]


def healthcheck_timeout_s(client: Any, image: str) -> float:
    check = client.api.inspect_image(image)["Config"].get("Healthcheck") or {}
    if not check.get("Test") or check["Test"][0] == "NONE":
        raise BenchError(f"{image} has no HEALTHCHECK")
    # Docker's default timeout (30 s) applies when the image sets none.
    return float(check.get("Timeout") or 30_000_000_000) / 1e9


def loaded_libraries(container: Any) -> set[str]:
    """Which of uvloop's loop and httptools' parser the service's process (PID 1) has
    loaded, read from its memory map."""
    result = container.exec_run(["python", "-c", "print(open('/proc/1/maps').read())"])
    if result.exit_code != 0:
        raise BenchError(f"cannot read the service's memory map: {result.output[-200:]!r}")
    maps = result.output.decode(errors="replace")
    wanted = {"uvloop": r"/uvloop/loop\.cpython", "httptools": r"/httptools/parser/"}
    return {name for name, pattern in wanted.items() if re.search(pattern, maps)}


@dataclass
class Usage:
    """Container figures from the Docker stats API (what `docker stats` reads)."""

    cpu_ns: int
    memory: int  # usage minus inactive page cache, as `docker stats` shows it
    rss: int


def usage(container: Any) -> Usage:
    stats = container.stats(stream=False, one_shot=True)
    memory = stats.get("memory_stats", {})
    detail = memory.get("stats", {})
    # cgroup v1 names the page cache total_inactive_file and the RSS rss; v2 inactive_file, anon.
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    rss = detail.get("rss", detail.get("anon", 0))
    return Usage(
        int(stats["cpu_stats"]["cpu_usage"]["total_usage"]),
        int(memory.get("usage", 0)) - int(inactive),
        int(rss),
    )


class PeakMemory:
    """Samples a container's memory every `every` seconds while in its `with` blocks; the
    peaks are over all of them."""

    def __init__(self, container: Any, every: float = 0.5) -> None:
        self.container = container
        self.every = every
        self.memory = 0
        self.rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                now = usage(self.container)
            except (docker.errors.APIError, KeyError):
                return  # the container is gone; the run reports what it has
            self.memory = max(self.memory, now.memory)
            self.rss = max(self.rss, now.rss)
            self._stop.wait(self.every)


def make_clip(
    client: Any,
    image: str,
    run_id: str,
    workdir: Path,
    *,
    seconds: int = 2,
    size: str = "320x240",
    rate: int = 25,
) -> bytes:
    """An H.264/AAC MP4 (2 s 320x240 unless asked otherwise) made by the image's own
    FFmpeg in a short-lived container (no network, as the caller's uid, labelled and
    removed)."""
    target = workdir / "clip.mp4"
    args = [
        "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(target),
    ]  # fmt: skip
    try:
        client.containers.run(
            image,
            args,
            entrypoint=["ffmpeg"],
            user=f"{os.getuid()}:{os.getgid()}",
            volumes={str(workdir): {"bind": str(workdir), "mode": "rw"}},
            labels={LABEL: run_id},
            network_disabled=True,
            remove=True,
        )
    except docker.errors.ContainerError as exc:
        raise BenchError(f"the image's ffmpeg could not make a clip: {exc}") from None
    return target.read_bytes()
