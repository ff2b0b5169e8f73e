"""The suite under stress: full runs one after another, runs interrupted at random
points, the Docker daemon lost mid-run, two sessions at once on one daemon, and
pytest-xdist. bench/stress.py prints the figures; test_stress.py asserts them on
small counts. Every suite run is a child pytest, as a user or CI runs it."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from conformance.container import LABEL_HOST, LABEL_PID, LABEL_SESSION
from conformance.tests.suite_run import REPO, clean_env, suite_command

# The run that follows a damaged one: it sweeps (every run does, before its checks)
# and needs no container of its own, so it is short.
SWEEP_RUN_ARGS = ("--check=IMG-SIZE",)
# Stopping the daemon that scripts/ensure-docker.sh started, then starting it again.
RESTART_COMMAND = (
    'kill "$(cat /var/run/docker.pid)"; '
    "for _ in $(seq 1 90); do [ -e /var/run/docker.pid ] || break; sleep 1; done; "
    "bash scripts/ensure-docker.sh"
)
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Leftovers:
    """What a suite process left on the daemon, by the pid label it puts on everything."""

    containers: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes)

    def __str__(self) -> str:
        return (
            f"{len(self.containers)} containers, {len(self.networks)} networks, "
            f"{len(self.volumes)} volumes"
        )


def leftovers_of(client: docker.DockerClient, pid: int) -> Leftovers:
    label = {"label": [f"{LABEL_PID}={pid}", f"{LABEL_HOST}={socket.gethostname()}"]}
    api = client.api
    return Leftovers(
        tuple(c["Id"][:12] for c in api.containers(all=True, filters=label)),
        tuple(n["Id"][:12] for n in api.networks(filters=label)),
        tuple(v["Name"][:12] for v in api.volumes(filters=label).get("Volumes") or []),
    )


def any_session_resources(client: docker.DockerClient) -> Leftovers:
    """Everything carrying the suite's session label, whoever made it."""
    label = {"label": LABEL_SESSION}
    api = client.api
    return Leftovers(
        tuple(c["Id"][:12] for c in api.containers(all=True, filters=label)),
        tuple(n["Id"][:12] for n in api.networks(filters=label)),
        tuple(v["Name"][:12] for v in api.volumes(filters=label).get("Volumes") or []),
    )


@dataclass
class Run:
    """One finished suite run."""

    args: tuple[str, ...]
    pid: int
    returncode: int
    wall_s: float
    output: str
    report: dict[str, Any] | None
    event_at_s: float | None = None  # the signal or fault, from the start
    exit_after_s: float | None = None  # from the event to the exit

    @property
    def green(self) -> bool:
        return bool(self.report and self.report.get("green"))

    @property
    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in (self.report or {}).get("checks", [])}

    def problems(self) -> dict[str, str]:
        """Each check that did not pass: its status and the first lines of its message."""
        return {
            c["id"]: f"{c['status']}: {' '.join((c['message'] or '').split())[:600]}"
            for c in (self.report or {}).get("checks", [])
            if c["status"] not in ("passed", "waived")
        }

    @property
    def tracebacks(self) -> int:
        """Tracebacks in the output, but for a signal that came while pytest itself was
        still starting (importing its plugins): Python prints KeyboardInterrupt's traceback
        there, before the suite's plugin could act and before any container exists."""
        return 0 if self.at_startup else self.output.count(TRACEBACK)

    @property
    def at_startup(self) -> bool:
        """The traceback is pytest's start-up: it passes through no session, no clean-up
        and none of the suite's code."""
        out = self.output
        inside = ("wrap_session", "_ensure_unconfigure", "/conformance/")
        return TRACEBACK in out and not any(frame in out for frame in inside)

    @property
    def signalled_in_cleanup(self) -> bool:
        """The signal came after the last check, while the session cleaned up: the run
        finished its clean-up and its (complete) report first, and exits 2."""
        return "interrupted while cleaning up" in self.output

    @property
    def wrongly_green(self) -> bool:
        """A green report with a check that did not pass (cut short, not run): wrong."""
        passing = ("passed", "waived")
        return self.green and any(s not in passing for s in self.statuses.values())

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.output.splitlines() if text in line]

    def tail(self, chars: int = 3000) -> str:
        return self.output[-chars:]


class SuiteProcess:
    """A suite run in a child process, with SIGINT at its default as in a terminal."""

    def __init__(
        self,
        image: str,
        workdir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        name = uuid.uuid4().hex[:8]
        self.report = workdir / f"{name}.json"
        self.log = workdir / f"{name}.log"
        self.args = args
        cmd = command or suite_command(image, self.report, *args)
        self.started = time.monotonic()
        self.event_at: float | None = None
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=clean_env(**(env or {})),
                stdout=out,
                stderr=subprocess.STDOUT,
                # A parent that ignores SIGINT (an xdist worker) would hand that on.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, sig: signal.Signals) -> bool:
        """Send ``sig`` if the run is still going; False when it had finished."""
        if not self.alive():
            return False
        self.event_at = time.monotonic()
        self.proc.send_signal(sig)
        return True

    def mark_event(self) -> None:
        self.event_at = time.monotonic()

    def wait_for_containers(self, client: docker.DockerClient, timeout_s: float = 120) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.alive():
            if leftovers_of(client, self.pid).containers:
                return True
            time.sleep(0.2)
        return False

    def finish(self, timeout_s: float = 600) -> Run:
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        ended = time.monotonic()
        report = None
        if self.report.exists():
            try:
                report = json.loads(self.report.read_text())
            except ValueError:
                report = None  # a half-written report counts as none
        event = self.event_at
        return Run(
            args=self.args,
            pid=self.pid,
            returncode=self.proc.returncode,
            wall_s=ended - self.started,
            output=self.log.read_text(errors="replace"),
            report=report,
            event_at_s=None if event is None else event - self.started,
            exit_after_s=None if event is None else ended - event,
        )


def run_once(image: str, workdir: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    return SuiteProcess(image, workdir, *args, env=env).finish()


# -- 1. full runs, one after another ------------------------------------------------
def consecutive(
    image: str, count: int, workdir: Path, progress: Callable[[str], None] = print
) -> list[Run]:
    client = docker.from_env()
    runs = []
    for i in range(count):
        run = run_once(image, workdir)
        left = leftovers_of(client, run.pid)
        progress(
            f"full run {i + 1}/{count}: exit {run.returncode}, green {run.green}, "
            f"{run.wall_s:.1f} s, left {left}"
        )
        if not run.green:
            progress(f"  not green: {run.problems() or run.tail(1500)}")
        runs.append(run)
    return runs


# -- 2. interrupted at random points ----------------------------------------------------
@dataclass
class Interruption:
    sig: signal.Signals
    delay_s: float  # when the signal was sent, after the start
    run: Run
    interrupted: bool  # False: the run had finished before the signal
    before_sweep: Leftovers  # what it left, before any other run swept
    after_sweep: Leftovers  # what remained after the next run's sweep
    next_run: Run


def interrupted(
    image: str,
    sig: signal.Signals,
    count: int,
    rng: random.Random,
    max_delay_s: float,
    workdir: Path,
    progress: Callable[[str], None] = print,
) -> list[Interruption]:
    client = docker.from_env()
    results = []
    for i in range(count):
        delay = rng.uniform(0, max_delay_s)
        child = SuiteProcess(image, workdir)
        while time.monotonic() < child.started + delay and child.alive():
            time.sleep(0.05)
        sent = child.send(sig)
        run = child.finish(timeout_s=300)
        before = leftovers_of(client, run.pid)
        following = run_once(image, workdir, *SWEEP_RUN_ARGS)
        after = leftovers_of(client, run.pid)
        results.append(Interruption(sig, delay, run, sent, before, after, following))
        exit_after = f"{run.exit_after_s:.1f} s" if run.exit_after_s is not None else "-"
        report = "green" if run.green else "not green" if run.report else "none"
        if run.signalled_in_cleanup:
            report += " (the signal came during the clean-up, after the last check)"
        progress(
            f"{sig.name} {i + 1}/{count} at {delay:.1f} s: exit {run.returncode} "
            f"{exit_after} later, report {report}, "
            f"left {before} -> after next sweep {after}"
            + ("" if sent else " (finished before the signal)")
            + (f", {run.tracebacks} tracebacks" if run.tracebacks else "")
            + (", pytest's start-up interrupted" if run.at_startup else "")
        )
        if run.tracebacks:
            progress(run.tail(3000))
    return results


# -- 3. the daemon lost mid-run --------------------------------------------------------
# A unix-socket forwarder to the daemon's socket: killing it is, for the suite's
# client, the daemon going away (its connections reset, new ones refused).
PROXY = r"""
import asyncio, sys
listen, target = sys.argv[1], sys.argv[2]

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()

async def handle(client_r, client_w):
    try:
        daemon_r, daemon_w = await asyncio.open_unix_connection(target)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(pipe(client_r, daemon_w), pipe(daemon_r, client_w))
    client_w.close()
    daemon_w.close()

async def main():
    server = await asyncio.start_unix_server(handle, listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def daemon_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise RuntimeError(f"the proxy needs a unix socket daemon, DOCKER_HOST is {host}")
    return host.removeprefix("unix://")


@contextmanager
def socket_proxy() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A proxy to the daemon; yields (its DOCKER_HOST, its process)."""
    # In the system's temp dir: a socket path must fit in 108 bytes, pytest's tmp_path may not.
    with tempfile.TemporaryDirectory(prefix="dp-") as tmp:
        path = Path(tmp) / "docker.sock"
        proc = subprocess.Popen(
            [sys.executable, "-c", PROXY, str(path), daemon_socket()],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            yield f"unix://{path}", proc
        finally:
            proc.kill()
            proc.wait()


@dataclass
class DaemonFault:
    how: str  # "proxy killed" or "daemon restarted"
    run: Run
    had_containers: bool  # the run's containers were up when the daemon went
    before_sweep: Leftovers
    after_sweep: Leftovers
    next_run: Run

    @property
    def daemon_lines(self) -> list[str]:
        return self.run.lines_with("Docker daemon")


def daemon_fault(
    image: str,
    workdir: Path,
    delay_s: float,
    after_containers: bool = False,
    restart_command: str | None = None,
    progress: Callable[[str], None] = print,
) -> DaemonFault:
    """A run whose daemon goes away ``delay_s`` after its start (or after its containers
    started): through a proxy that is killed, or (``restart_command``) for real."""
    client = docker.from_env()

    def wait(child: SuiteProcess) -> bool:
        up = child.wait_for_containers(client) if after_containers else False
        deadline = time.monotonic() + delay_s
        while time.monotonic() < deadline and child.alive():
            time.sleep(0.05)
        up = up or bool(leftovers_of(client, child.pid).containers)
        child.mark_event()
        return up

    if restart_command is None:
        how = "proxy killed"
        with socket_proxy() as (host, proxy):
            child = SuiteProcess(image, workdir, env={"DOCKER_HOST": host})
            had_containers = wait(child)
            proxy.kill()
            proxy.wait()
            run = child.finish(timeout_s=300)
    else:
        how = "daemon restarted"
        child = SuiteProcess(image, workdir)
        had_containers = wait(child)
        # Its own session: the daemon it starts must not get this terminal's Ctrl-C.
        subprocess.run(
            ["bash", "-c", restart_command], cwd=REPO, check=False, start_new_session=True
        )
        run = child.finish(timeout_s=300)
        client = docker.from_env()
    before = leftovers_of(client, run.pid)
    following = run_once(image, workdir, *SWEEP_RUN_ARGS)
    after = leftovers_of(client, run.pid)
    fault = DaemonFault(how, run, had_containers, before, after, following)
    when = f"{delay_s:.1f} s after {'its containers started' if after_containers else 'the start'}"
    progress(
        f"daemon fault ({how}) {when}: exit {run.returncode} {run.exit_after_s or 0:.1f} s "
        f"later, {run.tracebacks} tracebacks, daemon lines {fault.daemon_lines}, left "
        f"{before} -> after next sweep {after}"
    )
    return fault


# -- 4. two sessions at once -------------------------------------------------------------
@dataclass
class Concurrent:
    alone: dict[str, Run]
    together: dict[str, Run]
    left: dict[str, Leftovers] = field(default_factory=dict)

    def differences(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Per image: the checks whose status differs from the run alone."""
        out = {}
        for image, run in self.together.items():
            alone = self.alone[image].statuses
            out[image] = {
                i: (alone.get(i, "-"), s) for i, s in run.statuses.items() if alone.get(i) != s
            }
        return out


def concurrent(
    images: list[str],
    workdir: Path,
    alone: dict[str, Run] | None = None,
    progress: Callable[[str], None] = print,
) -> Concurrent:
    client = docker.from_env()
    alone = dict(alone or {})
    for image in images:
        if image not in alone:
            alone[image] = run_once(image, workdir)
            progress(f"{image} alone: exit {alone[image].returncode}, green {alone[image].green}")
    children = {}
    for image in images:
        children[image] = SuiteProcess(image, workdir)
        # The second one starts while the first has containers: its sweep sees them.
        children[image].wait_for_containers(client)
    together = {image: child.finish() for image, child in children.items()}
    left = {image: leftovers_of(client, run.pid) for image, run in together.items()}
    result = Concurrent(alone, together, left)
    for image, diff in result.differences().items():
        run = together[image]
        progress(
            f"{image} together: exit {run.returncode}, green {run.green}, {run.wall_s:.1f} s, "
            f"differs from alone: {diff or 'nothing'}, left {result.left[image]}"
        )
        for check_id in diff:
            progress(f"  {check_id}: {run.problems().get(check_id)}")
    return result


# -- 5. pytest-xdist -------------------------------------------------------------------
def xdist(image: str, workdir: Path) -> Run:
    report = workdir / f"xdist-{uuid.uuid4().hex[:8]}.json"
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
        "-n", "2", f"--image={image}", f"--conformance-json={report}",
    ]  # fmt: skip
    child = SuiteProcess(image, workdir, command=cmd)
    child.report = report
    return child.finish()
