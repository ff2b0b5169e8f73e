"""Container lifecycle without a reaper: start (in the background, so containers
boot while other checks run) with testcontainers, wait with its wait strategies
(polling with deadlines), label everything with the session, remove it all at the
end, and sweep what killed sessions left."""

from __future__ import annotations

import contextlib
import fcntl
import math
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
from typing import Any, TypeVar, cast

import docker
import docker.errors
import httpx
from docker.models.containers import Container
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import HealthcheckWaitStrategy
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

from conformance.docker_exec import complete_output
from conformance.probes.errors import FactError
from conformance.probes.filesystem import ImageFilesystem
from conformance.probes.process import listening_ports

LABEL_SESSION = "io.ai-video-conformance.session"
LABEL_HOST = "io.ai-video-conformance.host"
LABEL_PID = "io.ai-video-conformance.pid"
# When that process started (Linux /proc): a dead session's pid may be reused by then.
LABEL_PID_START = "io.ai-video-conformance.pid-start"
LABEL_KEEP = "io.ai-video-conformance.keep"  # --conformance-keep: left for debugging, not swept
# What a lost or restarting daemon raises: docker's own errors, and requests' (OSErrors).
DAEMON_ERRORS = (docker.errors.DockerException, OSError)
# How long closing waits for starts in flight (each removes its own container).
CLOSE_WAIT_S = 30.0
LOG_TAIL_LINES = 15
POLL_S = 0.1
UNTIMED_POLL_S = 0.3

T = TypeVar("T")

# The session removes its own containers (labels, close, sweep): Ryuk would be a second
# reaper, and its image cannot be pulled on an air-gapped machine.
testcontainers_config.ryuk_disabled = True


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


def ignore_environment_proxies(client: docker.DockerClient) -> None:
    """The suite talks to a local engine socket and 127.0.0.1 only. Without this,
    requests scans os.environ for proxies on every call, from the suite's background
    threads, while pytest changes os.environ (PYTEST_CURRENT_TEST): a KeyError race."""
    client.api.trust_env = False


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


class SuiteContainer(DockerContainer):
    """A testcontainers container with the suite's run flags, published on 127.0.0.1 only."""

    def __init__(
        self,
        image: str,
        name: str,
        labels: dict[str, str],
        spec: RunSpec,
        publish_port: int | None,
    ) -> None:
        run_kwargs = dict(spec.kwargs)
        tmpfs: dict[str, str] = run_kwargs.pop("tmpfs", {})  # testcontainers passes its own
        super().__init__(
            image,
            docker_client_kw={"timeout": 120},
            env=dict(spec.environment),
            name=name,
            labels=labels,
            **run_kwargs,
        )
        self.tmpfs.update(tmpfs)
        ignore_environment_proxies(self.get_docker_client().client)
        if publish_port is not None:
            # with_bind_ports takes no host address; docker-py reads (address, None) as
            # "any free port on that address", and the app must not face the network.
            self.ports[f"{publish_port}/tcp"] = cast(Any, ("127.0.0.1", None))


@dataclass
class Started:
    """A started container and what its start looked like."""

    spec: RunSpec
    handle: SuiteContainer
    started_at: float  # time.monotonic() just before `docker run`
    host_port: int | None = None
    ready_after_s: float | None = None  # first 200 on the health path, from `docker run`
    exit_code: int | None = None  # set when it exited while the suite waited
    exited_after_s: float | None = None
    problem: str | None = None  # why it never became ready (with its last log lines)
    start_error: str | None = None  # the engine could not start it at all
    last_seen: str | None = None  # the last answer (or failure) of the health path

    @property
    def container(self) -> Container:
        return complete_output(self.handle.get_wrapped_container())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def wait_exit(self, timeout_s: float) -> bool:
        """Block until the container exits or ``timeout_s`` passes (the engine waits, the
        suite does not poll); True when it exited (or never started)."""
        if self.start_error is not None:
            return True
        if timeout_s <= 0:
            return not self.running()
        try:
            self.container.wait(timeout=timeout_s)
        except (ConnectionError, docker.errors.APIError, OSError):
            return not self.running()  # timed out (requests raises a ConnectionError)
        return True

    def running(self) -> bool:
        if self.start_error is not None:
            return False
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return False
        return bool(self.container.attrs["State"]["Running"])

    def note_exit(self) -> None:
        self.exit_code = int(self.container.attrs["State"]["ExitCode"])
        self.exited_after_s = time.monotonic() - self.started_at

    def logs(self, stdout: bool = True, stderr: bool = True) -> str:
        if self.start_error is not None:
            return ""
        return self.container.logs(stdout=stdout, stderr=stderr).decode(errors="replace")


class _Recording(WaitStrategy):
    """A wait that records what it saw in ``Started`` instead of raising: a slow or
    failed start is a check's finding, not a setup error. The deadline counts from
    `docker run`, and the wait ends early when the session closes."""

    def __init__(self, started: Started, timeout_s: float, closing: threading.Event) -> None:
        super().__init__()
        self.started = started
        self.closing = closing
        self.timeout_s = timeout_s  # testcontainers keeps whole seconds only
        self.with_startup_timeout(math.ceil(timeout_s)).with_poll_interval(POLL_S)

    @property
    def deadline(self) -> float:
        return self.started.started_at + self.timeout_s


class ExitsOrTimesOut(_Recording):
    """Until the container exits (a bad configuration must make it stop)."""

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        while time.monotonic() < self.deadline and not self.closing.is_set():
            if not self.started.running():
                self.started.note_exit()
                return
            time.sleep(self._poll_interval)


class HealthPathAnswers(_Recording):
    """Until the health path answers 200 on the published port. Unlike testcontainers'
    HttpWaitStrategy it stops as soon as the container exits: a crashing image must
    not cost the whole timeout."""

    def __init__(
        self,
        started: Started,
        timeout_s: float,
        closing: threading.Event,
        port: int,
        path: str,
    ) -> None:
        super().__init__(started, timeout_s, closing)
        self.port = port
        self.path = path
        if started.spec.name != "app":
            # Only the app's start-up is timed (RUN-READY): the others are polled less
            # often, which leaves the CPU to the containers that are starting.
            self.with_poll_interval(UNTIMED_POLL_S)

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        started = self.started
        polls = 0
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while not self.closing.is_set():
                polls += 1
                # the engine is asked every 5th poll: an inspect costs more than a GET
                if polls % 5 == 1 and not started.running():
                    started.note_exit()
                    started.problem = (
                        f"the container exited with code {started.exit_code} after "
                        f"{started.exited_after_s:.1f} s; last log lines:\n"
                        f"{last_log_lines(started.container)}"
                    )
                    return
                if started.host_port is None:
                    started.host_port = self._host_port()
                if started.host_port is not None and self._answers(client):
                    started.ready_after_s = time.monotonic() - started.started_at
                    return
                if time.monotonic() > self.deadline:
                    started.problem = (
                        f"no 200 from {self.path} within {self.timeout_s:.0f} s "
                        f"(suite.ready_timeout_s): {started.last_seen or 'no answer'}"
                        f"{self._listening()}; last log "
                        f"lines:\n{last_log_lines(started.container)}"
                    )
                    return
                time.sleep(self._poll_interval)

    def _host_port(self) -> int | None:
        try:
            return int(
                self.started.handle.get_docker_client().port(self.started.container.id, self.port)
            )
        except (ConnectionError, docker.errors.APIError):  # not published (yet)
            return None

    def _answers(self, client: httpx.Client) -> bool:
        url = f"{self.started.base_url}{self.path}"
        try:
            response = client.get(url)
        except httpx.ConnectError:
            self.started.last_seen = f"connection refused on {self.started.base_url}"
            return False
        except httpx.TransportError:
            # docker-proxy accepts, then closes when nothing listens on the container port
            self.started.last_seen = (
                f"{self.started.base_url} (container port {self.port}) accepted and closed "
                "the connection: nothing answers on that port in the container"
            )
            return False
        self.started.last_seen = f"GET {self.path} answered HTTP {response.status_code}"
        return response.status_code == 200

    def _listening(self) -> str:
        """Which TCP ports the container listens on, when the host can read that."""
        self.started.container.reload()
        ports = listening_ports(int(self.started.container.attrs["State"].get("Pid") or 0))
        if ports is None:
            return ""
        shown = ", ".join(map(str, ports)) or "none"
        return f"; the container listens on TCP port(s) {shown}, the profile says {self.port}"


@dataclass
class HealthWatch:
    """Docker's own health status of a container, watched until it settles."""

    status: str | None = None
    after_s: float | None = None
    log: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def start_lock(timed: bool, closing: threading.Event | None = None) -> Iterator[None]:
    """Timed start-ups of parallel sessions on one host take turns (a file lock). The
    wait gives up when the session closes: it must not outlast another session's start."""
    if not timed:
        yield
        return
    path = Path(tempfile.gettempdir()) / "ai-video-conformance-start.lock"
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if closing is not None and closing.is_set():
                    raise RuntimeError("session is closing") from None
                time.sleep(POLL_S)
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


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (None without /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces; starttime is field 22.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def session_alive(labels: dict[str, str]) -> bool:
    """Whether the pytest process that labelled a container still runs: its pid is
    alive and, where the label records it, is the same process (pids are reused)."""
    pid = labels.get(LABEL_PID, "0")
    if not (pid.isdigit() and int(pid) and _pid_alive(int(pid))):
        return False
    recorded = labels.get(LABEL_PID_START)
    if recorded is None:
        return True  # labelled where /proc was not readable: the pid is all there is
    return process_start(int(pid)) in (recorded, None)


def sweep_stale(client: docker.DockerClient) -> list[str]:
    """Remove containers of sessions on this host whose pytest process is gone."""
    removed = []
    host = socket.gethostname()
    # The low-level list: no per-container inspect that a parallel session's removal could fail.
    for info in client.api.containers(all=True, filters={"label": LABEL_SESSION}):
        labels = info.get("Labels") or {}
        if labels.get(LABEL_HOST) != host or session_alive(labels):
            continue
        if labels.get(LABEL_KEEP) == "1":
            continue  # kept on purpose: the user removes them
        try:
            # v: the anonymous volumes of an image's VOLUME carry no label to sweep by
            client.api.remove_container(info["Id"], force=True, v=True)
        except docker.errors.NotFound:
            continue  # another session's sweep removed it first
        except docker.errors.APIError as error:
            # 409 "removal already in progress": another session's sweep has it.
            if error.status_code != 409:
                continue
        removed.append(info["Id"][:12])
    _sweep_networks(client, host)
    return removed


def _sweep_networks(client: docker.DockerClient, host: str) -> None:
    """The networks of dead sessions' compose stacks (DEP-COMPOSE-FULL labels them), once
    their containers are gone; one still in use is left for a later sweep."""
    for info in client.api.networks(filters={"label": LABEL_SESSION}):
        labels = info.get("Labels") or {}
        if labels.get(LABEL_HOST) != host or session_alive(labels) or labels.get(LABEL_KEEP):
            continue
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_network(info["Id"])


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
        ignore_environment_proxies(client)
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
        self._filesystem: Future[ImageFilesystem] | None = None
        self.fs_wanted: tuple[str, ...] = ("/etc/passwd", "/etc/group")  # files whose text is kept

    @property
    def labels(self) -> dict[str, str]:
        started = process_start(os.getpid())
        return {
            LABEL_SESSION: self.session_id,
            LABEL_HOST: socket.gethostname(),
            LABEL_PID: str(os.getpid()),
            **({LABEL_PID_START: started} if started else {}),
            **({LABEL_KEEP: "1"} if self.keep else {}),
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

    def health_settled(self, timeout_s: float) -> None:
        """Wait for the health watches in flight (their checks read the results): a load
        started meanwhile, like a whole compose stack, would delay Docker's probes."""
        with self._lock:
            watches = list(self._health.values())
        for watch in watches:
            with contextlib.suppress(BaseException):  # their own checks report failures
                watch.exception(timeout=timeout_s)

    def image_filesystem(self) -> Future[ImageFilesystem]:
        """The image's filesystem, exported once (in the background) from a created,
        never started container."""
        with self._lock:
            if self._filesystem is None:
                self._filesystem = spawn(self._export)
            return self._filesystem

    def _export(self) -> ImageFilesystem:
        try:
            container = self.create_stopped(command=["true"], entrypoint=[])
        except (docker.errors.APIError, RuntimeError) as exc:
            raise FactError(f"no container of the image could be created: {exc}") from None
        try:
            return ImageFilesystem.from_tar(container.export(), self.fs_wanted)
        except docker.errors.APIError as exc:
            raise FactError(f"the engine could not export the image's files: {exc}") from None
        finally:
            with contextlib.suppress(*DAEMON_ERRORS):
                container.remove(force=True, v=True)

    def create_stopped(self, **kwargs: Any) -> Container:
        """A created, never started container (to read files of the image)."""
        container = self.client.containers.create(self.image, labels=self.labels, **kwargs)
        if self._closing.is_set():
            container.remove(force=True, v=True)
            raise RuntimeError("session is closing")
        return container

    def _run(self, spec: RunSpec) -> Started:
        if self._closing.is_set():
            raise RuntimeError("session is closing")
        with start_lock(timed=spec.name == "app", closing=self._closing):
            return self._start_and_wait(spec)

    def _start_and_wait(self, spec: RunSpec) -> Started:
        handle = SuiteContainer(
            self.image,
            name=f"conformance-{self.session_id}-{spec.name}",
            labels=self.labels,
            spec=spec,
            publish_port=self.port if spec.publish else None,
        )
        started = Started(spec=spec, handle=handle, started_at=time.monotonic())
        timeout_s = spec.timeout_s or self.ready_timeout_s
        if spec.wait == "exit":
            handle.waiting_for(ExitsOrTimesOut(started, timeout_s, self._closing))
        elif spec.wait == "http":
            handle.waiting_for(
                HealthPathAnswers(started, timeout_s, self._closing, self.port, self.health_path)
            )
        try:
            handle.start()
        except docker.errors.APIError as exc:
            # Created but not started (e.g. its command is not in the image): a finding
            # for RUN-STARTS, and what blocks the checks that need it; the session's
            # labels remove the created container.
            started.start_error = " ".join(str(exc.explanation or exc).split())
            started.problem = f"the container did not start: {started.start_error}"
            return started
        if self._closing.is_set():
            handle.stop()
            raise RuntimeError("session is closing")
        return started

    def _watch(self, started: Started, deadline_s: float) -> HealthWatch:
        if started.start_error is not None:
            return HealthWatch()
        remaining_s = started.started_at + deadline_s - time.monotonic()
        strategy = HealthcheckWaitStrategy().with_startup_timeout(max(math.ceil(remaining_s), 0))
        # It raises when the deadline passes or Docker says unhealthy (also when the
        # container stopped): both are findings, read back from the state below.
        with contextlib.suppress(TimeoutError, RuntimeError, docker.errors.NotFound):
            strategy.with_poll_interval(0.25).wait_until_ready(started.handle)
        watch = HealthWatch(after_s=time.monotonic() - started.started_at)
        with contextlib.suppress(docker.errors.NotFound):
            started.container.reload()
            health = started.container.attrs["State"].get("Health") or {}
            watch.status = health.get("Status")
            watch.log = health.get("Log") or []
        return watch

    # -- cleanup --------------------------------------------------------------
    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Remove every container of this session; safe to call more than once, and
        when the daemon is gone (then the next session's sweep removes them)."""
        self._closing.set()
        if self.keep:
            return
        if self._remove_all():
            # Starts in flight may create a container after that listing: once they
            # have settled (each removes its own), list again.
            self._settle(wait_s)
            self._remove_all()

    def _remove_all(self) -> bool:
        """Remove the session's containers; False when the daemon cannot be reached."""
        try:
            leftovers = self.client.api.containers(
                all=True, filters={"label": f"{LABEL_SESSION}={self.session_id}"}
            )
        except DAEMON_ERRORS:
            return False
        for info in leftovers:
            with contextlib.suppress(*DAEMON_ERRORS):
                self.client.api.remove_container(info["Id"], force=True, v=True)
        return True

    def _settle(self, wait_s: float) -> None:
        """Wait for the starts and the export in flight: a container they create after
        a listing would outlive the session (an interrupted run exits at once)."""
        deadline = time.monotonic() + wait_s
        with self._lock:
            pending = [*self._futures.values(), self._filesystem]
        for future in pending:
            if future is None:
                continue
            with contextlib.suppress(BaseException):  # their own waiters report failures
                future.exception(timeout=max(0.0, deadline - time.monotonic()))
