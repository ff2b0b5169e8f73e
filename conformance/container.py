"""Container lifecycle without a reaper: start (in the background, so containers
boot while other checks run), wait by polling with deadlines, label everything
with the session, remove it all at the end, and sweep what killed sessions left."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import httpx
from docker.models.containers import Container

LABEL_SESSION = "io.ai-video-conformance.session"
LABEL_HOST = "io.ai-video-conformance.host"
LABEL_PID = "io.ai-video-conformance.pid"
LOG_TAIL_LINES = 15
POLL_S = 0.1

T = TypeVar("T")


def spawn(fn: Callable[[], T]) -> Future[T]:
    """Run fn in a daemon thread: an interrupted session must not wait for it."""
    future: Future[T] = Future()

    def target() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=target, daemon=True).start()
    return future


def last_log_lines(container: Container, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = container.logs(stdout=True, stderr=True, tail=lines).decode(errors="replace")
    except docker.errors.APIError:
        return "(logs unavailable)"
    return text.strip() or "(no output)"


@dataclass(frozen=True)
class RunSpec:
    """How to run one variant: the image's defaults plus these run flags."""

    name: str
    environment: dict[str, str] = field(default_factory=dict)
    publish: bool = True
    wait: str = (
        "http"  # "http": until the health path answers 200; "exit": until it exits; "running"
    )
    timeout_s: float | None = None  # how long to wait (default: the suite's ready timeout)
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Started:
    """A started container and what its start looked like."""

    spec: RunSpec
    container: Container
    started_at: float  # time.monotonic() just before `docker run`
    host_port: int | None = None
    ready_after_s: float | None = None  # first 200 on the health path, from `docker run`
    exit_code: int | None = None  # set when it exited while the suite waited
    exited_after_s: float | None = None
    problem: str | None = None  # why it never became ready (with its last log lines)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def running(self) -> bool:
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return False
        return bool(self.container.attrs["State"]["Running"])

    def logs(self, stdout: bool = True, stderr: bool = True) -> str:
        return self.container.logs(stdout=stdout, stderr=stderr).decode(errors="replace")


@dataclass
class HealthWatch:
    """Docker's own health status of a container, watched until it settles."""

    status: str | None = None
    after_s: float | None = None
    log: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def start_lock(timed: bool) -> Iterator[None]:
    """Timed start-ups of parallel sessions on one host take turns (a file lock)."""
    if not timed:
        yield
        return
    path = Path(tempfile.gettempdir()) / "ai-video-conformance-start.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(client: docker.DockerClient) -> list[str]:
    """Remove containers of sessions on this host whose pytest process is gone."""
    removed = []
    host = socket.gethostname()
    # The low-level list: no per-container inspect that a parallel session's removal could fail.
    for info in client.api.containers(all=True, filters={"label": LABEL_SESSION}):
        labels = info.get("Labels") or {}
        if labels.get(LABEL_HOST) != host:
            continue
        pid = labels.get(LABEL_PID, "0")
        if pid.isdigit() and int(pid) and _pid_alive(int(pid)):
            continue
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_container(info["Id"], force=True)
            removed.append(info["Id"][:12])
    return removed


class Lab:
    """All containers of one session: started lazily or ahead, always removed."""

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        port: int,
        health_path: str,
        ready_timeout_s: float,
    ) -> None:
        self.client = client
        self.image = image
        self.port = port
        self.health_path = health_path
        self.ready_timeout_s = ready_timeout_s
        self.session_id = uuid.uuid4().hex[:12]
        self.keep = False
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Started]] = {}
        self._health: dict[str, Future[HealthWatch]] = {}

    @property
    def labels(self) -> dict[str, str]:
        return {
            LABEL_SESSION: self.session_id,
            LABEL_HOST: socket.gethostname(),
            LABEL_PID: str(os.getpid()),
        }

    # -- starting -------------------------------------------------------------
    def start(self, spec: RunSpec, after: Future[Started] | None = None) -> Future[Started]:
        """Start a variant in the background (once); its future yields when it is ready.

        ``after``: start only once that one has settled, so that containers do not
        compete for the CPU while a start-up is being timed.
        """

        def run() -> Started:
            if after is not None:
                with contextlib.suppress(BaseException):  # its own waiter reports that failure
                    after.result()
            return self._run(spec)

        with self._lock:
            if spec.name not in self._futures:
                self._futures[spec.name] = spawn(run)
            return self._futures[spec.name]

    def get(self, spec: RunSpec) -> Started:
        return self.start(spec).result()

    def watch_health(self, name: str, deadline_s: float) -> Future[HealthWatch]:
        """Follow Docker's health status of a started variant until healthy or deadline."""
        with self._lock:
            if name not in self._health:
                started = self._futures[name]
                self._health[name] = spawn(lambda: self._watch(started.result(), deadline_s))
            return self._health[name]

    def create_stopped(self, **kwargs: Any) -> Container:
        """A created, never started container (to read files of the image)."""
        container = self.client.containers.create(self.image, labels=self.labels, **kwargs)
        if self._closing.is_set():
            container.remove(force=True)
            raise RuntimeError("session is closing")
        return container

    def _run(self, spec: RunSpec) -> Started:
        if self._closing.is_set():
            raise RuntimeError("session is closing")
        kwargs: dict[str, Any] = dict(spec.kwargs)
        if spec.publish:
            kwargs["ports"] = {f"{self.port}/tcp": ("127.0.0.1", None)}
        with start_lock(timed=spec.name == "app"):
            return self._start_and_wait(spec, kwargs)

    def _start_and_wait(self, spec: RunSpec, kwargs: dict[str, Any]) -> Started:
        started_at = time.monotonic()
        container = self.client.containers.run(
            self.image,
            detach=True,
            name=f"conformance-{self.session_id}-{spec.name}",
            labels=self.labels,
            environment=spec.environment,
            **kwargs,
        )
        started = Started(spec=spec, container=container, started_at=started_at)
        if self._closing.is_set():
            container.remove(force=True)
            raise RuntimeError("session is closing")
        if spec.wait == "exit":
            self._wait_exit(started, spec.timeout_s or self.ready_timeout_s)
        elif spec.wait == "http":
            self._wait_http(started)
        return started

    def _wait_exit(self, started: Started, timeout_s: float) -> None:
        deadline = started.started_at + timeout_s
        while time.monotonic() < deadline and not self._closing.is_set():
            if not started.running():
                started.exit_code = int(started.container.attrs["State"]["ExitCode"])
                started.exited_after_s = time.monotonic() - started.started_at
                return
            time.sleep(POLL_S)

    def _host_port(self, started: Started) -> int | None:
        started.container.reload()
        bindings = (started.container.attrs["NetworkSettings"]["Ports"] or {}).get(
            f"{self.port}/tcp"
        )
        return int(bindings[0]["HostPort"]) if bindings else None

    def _wait_http(self, started: Started) -> None:
        timeout_s = started.spec.timeout_s or self.ready_timeout_s
        deadline = started.started_at + timeout_s
        with httpx.Client(timeout=1.0) as client:
            while not self._closing.is_set():
                if not started.running():
                    started.exit_code = int(started.container.attrs["State"]["ExitCode"])
                    started.exited_after_s = time.monotonic() - started.started_at
                    started.problem = (
                        f"the container exited with code {started.exit_code} after "
                        f"{started.exited_after_s:.1f} s; last log lines:\n"
                        f"{last_log_lines(started.container)}"
                    )
                    return
                if started.host_port is None:
                    started.host_port = self._host_port(started)
                if started.host_port is not None:
                    try:
                        response = client.get(f"{started.base_url}{self.health_path}")
                        if response.status_code == 200:
                            started.ready_after_s = time.monotonic() - started.started_at
                            return
                    except httpx.TransportError:
                        pass  # docker-proxy resets connections until the app listens
                if time.monotonic() > deadline:
                    started.problem = (
                        f"no 200 from {self.health_path} within {timeout_s:.0f} s "
                        "(suite.ready_timeout_s); last log "
                        f"lines:\n{last_log_lines(started.container)}"
                    )
                    return
                time.sleep(POLL_S)

    def _watch(self, started: Started, deadline_s: float) -> HealthWatch:
        watch = HealthWatch()
        deadline = started.started_at + deadline_s
        while not self._closing.is_set():
            try:
                started.container.reload()
            except docker.errors.NotFound:
                break
            state = started.container.attrs["State"]
            health = state.get("Health") or {}
            watch.status = health.get("Status")
            watch.log = health.get("Log") or []
            watch.after_s = time.monotonic() - started.started_at
            if watch.status == "healthy" or not state["Running"] or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        return watch

    # -- exec -----------------------------------------------------------------
    def exec(
        self, container: Container, cmd: list[str], user: str = "", timeout_s: float = 60.0
    ) -> tuple[int | None, str]:
        """(exit code or None on timeout, output) of a command run inside the container."""
        future = spawn(lambda: container.exec_run(cmd, user=user, demux=False))
        try:
            result = future.result(timeout=timeout_s)
        except TimeoutError:
            return None, f"(no answer within {timeout_s:.0f} s)"
        output = (result.output or b"").decode(errors="replace")
        return result.exit_code, output

    # -- cleanup --------------------------------------------------------------
    def close(self) -> None:
        """Remove every container of this session; safe to call more than once."""
        self._closing.set()
        if self.keep:
            return
        try:
            leftovers = self.client.api.containers(
                all=True, filters={"label": f"{LABEL_SESSION}={self.session_id}"}
            )
        except docker.errors.DockerException:
            return
        for info in leftovers:
            with contextlib.suppress(docker.errors.APIError):
                self.client.api.remove_container(info["Id"], force=True)
