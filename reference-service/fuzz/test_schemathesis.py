"""Schemathesis against the running image's own /openapi.json: every phase (coverage,
fuzzing, and the stateful phase that follows the document's links from created jobs to
the routes taking their id), every check, once with the fixed seed and once with the
random one (conftest.py prints both)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fuzz.conftest import RUNS, FuzzRun
from tests.integration.container import RunningService

HERE = Path(__file__).resolve().parent
# Replaced by hooks.py's versions, which know the API's job URIs and its cancel semantics.
REPLACED_CHECKS = "use_after_free,ensure_resource_availability"
RUN_DEADLINE_SECONDS = 300
GENERATED = re.compile(r"^\s*(\d+) generated", re.MULTILINE)


def schemathesis(service: RunningService, clips_dir: Path, seed: int, workdir: Path) -> str:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{service.url}/openapi.json",
        "--seed",
        str(seed),
        "--checks",
        "all",
        "--exclude-checks",
        REPLACED_CHECKS,
        "--no-color",
    ]
    # The container's API key on every request; ignored_auth (in `all`) sends requests
    # without it, and a wrong one, and expects the documented 401.
    for name, value in service.headers.items():
        command += ["--header", f"{name}: {value}"]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
        "FUZZ_CLIPS_DIR": str(clips_dir),
    }
    done = subprocess.run(
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_SECONDS,
        check=False,
    )
    output = done.stdout + done.stderr
    saved = save(output, seed)
    if done.returncode != 0:
        pytest.fail(
            f"Schemathesis (seed {seed}) exited {done.returncode}"
            + (f"; its whole output is in {saved}" if saved else "")
            + f":\n{output[-12000:]}\n--- service log ---\n{service.logs()[-3000:]}",
            pytrace=False,
        )
    return output


def save(output: str, seed: int) -> Path | None:
    """Schemathesis's report, kept where the tox env keeps reports (CI uploads them)."""
    reports = os.environ.get("REPORTS")
    if not reports:
        return None
    path = Path(reports) / f"fuzz-seed-{seed}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(output)
    return path


def all_jobs(service: RunningService) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    while True:
        page = httpx.get(
            f"{service.url}/api/v1/jobs",
            params={"limit": 100, "offset": len(jobs)},
            headers=service.headers,
            timeout=10,
        ).json()
        jobs += page["items"]
        if not page["items"] or len(jobs) >= page["total"]:
            return jobs


@pytest.mark.parametrize("run", RUNS, ids=[run.label for run in RUNS])
def test_the_api_keeps_its_contract(
    run: FuzzRun,
    service: RunningService,
    clips_dir: Path,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    output = schemathesis(service, clips_dir, run.seed, tmp_path)
    run.seconds = time.monotonic() - started
    counts = GENERATED.findall(output)
    assert counts, f"no case count in Schemathesis's summary:\n{output[-3000:]}"
    run.cases = int(counts[-1])
    # The stateful phase ran and followed links: real ids reached the job routes.
    assert re.search(r"Stateful .*\n\s*\n\s*Scenarios:\s+[1-9]", output), output[-3000:]
    assert re.search(r"API Links:\s+[1-9]\d* covered", output), output[-3000:]
    # Generated uploads were real clips: the API holds upload jobs made from them.
    kinds = {job["kind"] for job in all_jobs(service)}
    assert "upload" in kinds, kinds
