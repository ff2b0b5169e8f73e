"""The compose `full` profile, brought up by compose itself for DEP-COMPOSE-FULL: the image
under test as API and workers beside its database, queue and storage servers.

Every service gets the session's labels (an override file, applied last), so a stack
left by a session that died is swept like the suite's own containers; a finished check
takes its stack down with `down -v` and then looks for anything left of it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.models.containers import Container

from conformance.container import DAEMON_ERRORS

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
POLL_S = 0.5


class StackError(Exception):
    """A step of the stack that failed; the message is one line."""


@dataclass(frozen=True)
class StackSpec:
    command: list[str]  # compose: `docker compose` or `docker-compose`
    files: list[Path]
    project: str
    profile: str
    env: dict[str, str]  # everything compose interpolates with (the host's never leak in)
    labels: dict[str, str]  # the session's: a dead session's stack is swept


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[-limit:]


class Stack:
    def __init__(self, spec: StackSpec, client: docker.DockerClient, workdir: Path) -> None:
        self.spec = spec
        self.client = client
        self.override = workdir / f"{spec.project}.labels.yml"

    # -- compose ----------------------------------------------------------------
    def compose(self, *args: str, timeout_s: float = 300) -> str:
        files = [*self.spec.files, *([self.override] if self.override.is_file() else [])]
        argv = [*self.spec.command]
        for path in files:
            argv += ["-f", str(path)]
        argv += ["--project-directory", str(self.spec.files[0].parent)]
        argv += ["-p", self.spec.project, "--profile", self.spec.profile, *args]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=self.spec.env,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StackError(f"`compose {args[0]}` gave no answer in {timeout_s:g} s") from None
        if done.returncode != 0:
            raise StackError(f"`compose {args[0]}` failed: {_one_line(done.stderr or done.stdout)}")
        return done.stdout

    def services(self) -> list[str]:
        return self.compose("config", "--services", timeout_s=60).split()

    def label_every_service(self, services: Iterable[str]) -> None:
        """The override that puts the session's labels on every container and network
        (JSON is YAML: no YAML writer needed)."""
        labels = dict(self.spec.labels)
        document = {
            "version": "3.8",
            "services": {name: {"labels": labels} for name in services},
            "networks": {"default": {"labels": labels}},
        }
        self.override.write_text(json.dumps(document, indent=2))

    def up(self, services: list[str], scale: dict[str, int], timeout_s: float) -> None:
        args = ["up", "-d", "--no-recreate"]
        for name, count in scale.items():
            args += ["--scale", f"{name}={count}"]
        self.compose(*args, *services, timeout_s=timeout_s)

    # -- the engine's view ---------------------------------------------------------
    def containers(self, service: str | None = None) -> list[Container]:
        labels = [f"{PROJECT_LABEL}={self.spec.project}"]
        if service:
            labels.append(f"{SERVICE_LABEL}={service}")
        found: list[Container] = self.client.containers.list(all=True, filters={"label": labels})
        return found

    def logs_tail(self, service: str, lines: int = 4) -> str:
        tails = []
        for container in self.containers(service):
            try:
                text = container.logs(tail=lines).decode(errors="replace")
            except DAEMON_ERRORS:
                continue
            tails.append(_one_line(text, 240))
        return " | ".join(tails) or "no log"

    def wait_healthy(self, services: list[str], deadline_s: float) -> float:
        """Seconds until every container of ``services`` is healthy (or, without a
        healthcheck, running)."""
        started = time.monotonic()
        while True:
            pending = []
            for service in services:
                containers = self.containers(service)
                if not containers:
                    pending.append(f"{service} (not created)")
                for container in containers:
                    container.reload()
                    state: dict[str, Any] = container.attrs.get("State") or {}
                    health = (state.get("Health") or {}).get("Status")
                    if state.get("Status") in ("exited", "dead"):
                        raise StackError(
                            f"{service} exited with {state.get('ExitCode')}: "
                            f"{self.logs_tail(service)}"
                        )
                    if (health or "healthy") != "healthy":  # no healthcheck: running
                        pending.append(f"{service} ({health})")
            if not pending:
                return time.monotonic() - started
            if time.monotonic() - started > deadline_s:
                waiting = pending[0].split(" ", 1)[0]
                raise StackError(
                    f"not healthy within {deadline_s:g} s: {', '.join(pending)}; "
                    f"{waiting} logs: {self.logs_tail(waiting)}"
                )
            time.sleep(POLL_S)

    def published_port(self, service: str, port: int) -> int:
        for container in self.containers(service):
            container.reload()
            bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{port}/tcp")
            if bindings:
                return int(bindings[0]["HostPort"])
        raise StackError(f"{service} publishes no host port for container port {port}")

    def exec(self, service: str, argv: list[str], user: str = "") -> tuple[int, str]:
        containers = self.containers(service)
        if not containers:
            raise StackError(f"no {service} container to run {argv[0]} in")
        result = containers[0].exec_run(argv, user=user, demux=False)
        return int(result.exit_code or 0), (result.output or b"").decode(errors="replace")

    # -- taking it down ------------------------------------------------------------
    def down(self) -> list[str]:
        """Take the stack down; what is left of it afterwards (containers, networks,
        volumes), as "kind name" lines: empty when nothing is."""
        try:
            self.compose("down", "-v", "--remove-orphans", "-t", "10", timeout_s=180)
        finally:
            self.override.unlink(missing_ok=True)
        selector = {"label": f"{PROJECT_LABEL}={self.spec.project}"}
        left = [
            f"container {c.name}" for c in self.client.containers.list(all=True, filters=selector)
        ]
        left += [f"network {n.name}" for n in self.client.networks.list(filters=selector)]
        left += [f"volume {v.name}" for v in self.client.volumes.list(filters=selector)]
        return left
