"""A compose file read the way compose reads it: `docker compose config` (or Debian's
`docker-compose config`) does the interpolation (`${V:-default}`, `${V:?message}`),
the project's `.env` and the override files. Only the variables the profile gives are
in its environment: the host's own never leak into the verdict."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from conformance.probes.errors import FactError

INSTALL_HINT = "install Docker's compose plugin, or Debian's docker-compose"


def compose_command() -> list[str] | None:
    """`docker compose` (v2) when the plugin answers, else `docker-compose` (v1)."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def host_environment(*names: str) -> dict[str, str]:
    """What compose needs of the host's environment to run (and ``names`` besides, when
    set): nothing else of it reaches compose's interpolation."""
    wanted = ("PATH", "HOME", "DOCKER_HOST", *names)
    return {key: os.environ[key] for key in wanted if key in os.environ}


def compose_config(files: list[Path], env: dict[str, str], timeout_s: float = 60) -> dict[str, Any]:
    """The normalized configuration of ``files`` (the first one names the project dir)."""
    command = compose_command()
    if command is None:
        raise FactError(f"reading a compose file needs compose: {INSTALL_HINT}")
    args = [*command]
    for path in files:
        args += ["-f", str(path)]
    args += ["--project-directory", str(files[0].parent), "config"]
    environment = {**host_environment(), **env}
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, env=environment, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise FactError(
            f"`{' '.join(args[:2])} config` gave no answer in {timeout_s:g} s"
        ) from None
    if done.returncode != 0:
        reason = " ".join((done.stderr or done.stdout).split())[-300:]
        raise FactError(f"compose cannot use {files[0].name}: {reason}")
    try:
        data = yaml.safe_load(done.stdout)
    except yaml.YAMLError as exc:
        raise FactError(f"compose printed a configuration that is not YAML: {exc}") from None
    return dict(data or {})


def container_ports(service: dict[str, Any]) -> list[str]:
    """The container side of each published port, in short or long syntax."""
    ports = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            ports.append(str(port.get("target", "")))
        else:
            ports.append(str(port).rsplit(":", 1)[-1].split("/")[0])
    return ports


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (str(item).split("=", 1) for item in raw)
        return {key: value[0] if value else "" for key, *value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}
