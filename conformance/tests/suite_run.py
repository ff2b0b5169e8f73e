"""Run the whole suite in a child pytest against one image and read its JSON report."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

REPO = Path(__file__).resolve().parents[2]
# The image the docker self-tests check (and derive their mutants from).
BASE_IMAGE = os.environ.get("CONFORMANCE_MUTANT_BASE", "ai-video-backend:latest")
MUTANTS = Path(__file__).parent / "mutants"


# A mutant that needs wheels (a build reaches no package index) lists `pip download`
# arguments in this file; it is built from a temporary copy of mutants/ holding them.
PIP_DOWNLOAD = "pip-download.args"


def build_mutant(name: str) -> str:
    """Build mutants/<name>/Dockerfile FROM the base image; return its tag."""
    return build_image(MUTANTS, name, f"ai-video-mutant:{name.lower()}")


def build_image(root: Path, name: str, tag: str) -> str:
    """Build <root>/<name>/Dockerfile (context: <root>) FROM the base image as ``tag``."""
    client = docker.from_env(timeout=600)
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        context = root
        if (root / name / PIP_DOWNLOAD).is_file():
            context = Path(tmp) / root.name
            shutil.copytree(root, context, ignore=shutil.ignore_patterns("__pycache__"))
            download_wheels(context / name, client.info()["Architecture"])
        client.images.build(
            path=str(context),
            dockerfile=f"{name}/Dockerfile",
            tag=tag,
            buildargs={"BASE_IMAGE": BASE_IMAGE},
            rm=True,
            forcerm=True,
        )
    return tag


def download_wheels(mutant: Path, arch: str) -> None:
    """Into <mutant>/wheels/, with the host's pip: the wheels <mutant>/pip-download.args
    names (one or more arguments a line, # comments, paths relative to the repository,
    ``{arch}`` the Docker daemon's architecture, e.g. x86_64)."""
    args = shlex.split((mutant / PIP_DOWNLOAD).read_text().replace("{arch}", arch), comments=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "-d", str(mutant / "wheels"), *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    report: dict[str, Any] | None
    pid: int

    def failing(self) -> set[str]:
        checks = (self.report or {}).get("checks", [])
        return {c["id"] for c in checks if c["status"] in ("failed", "error")}

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in (self.report or {})["checks"] if c["id"] == check_id)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any CONFORMANCE_* setting of the calling shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env.update(extra)
    return env


def run_suite(
    image: str,
    report: Path,
    *args: str,
    timeout_s: float = 600,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> SuiteRun:
    cmd = suite_command(image, report, *args)
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        env=clean_env(**(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as child:
        output, _ = child.communicate(timeout=timeout_s)
    data = json.loads(report.read_text()) if report.exists() else None
    return SuiteRun(child.returncode, output, data, child.pid)


def suite_command(image: str, report: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",  # a suite run is one session; loading xdist costs every run
        "-q",
        "-o",
        "addopts=",
        f"--image={image}",
        f"--conformance-json={report}",
        *args,
    ]


def leftovers(pid: int) -> list[str]:
    """Containers a suite run by process ``pid`` left behind."""
    from conformance.container import LABEL_PID

    client = docker.from_env()
    return [
        c["Id"][:12]
        for c in client.api.containers(all=True, filters={"label": f"{LABEL_PID}={pid}"})
    ]
