"""One container of the reference image for the whole fuzz session, the clips its uploads
send, and the seeds: a fixed one and a random one, both printed in the header so a
failing run can be replayed (FUZZ_SEED=<seed> tox -e fuzz)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.container import RunningService, docker_client, image_tool, run_service
from tests.media import make_clip

FIXED_SEED = 20261126
SEED_ENV = "FUZZ_SEED"
# The upload limit of the fuzzed container: small, so a body past it is cheap to send.
MAX_UPLOAD_BYTES = 1024 * 1024
# Generation is configured but its API unreachable (a closed port inside the container):
# POST /generations creates jobs that fail fast instead of answering 503, and nothing
# leaves the machine. The container runs as shipped (production, run_service gives it an
# API key and the tests send it); its rate limits are far above what a run sends, so the
# fuzzer's cases reach the routes (401 and 429 are documented all the same).
SERVICE_ENV = {
    "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
    "REPLICATE_API_TOKEN": "fuzz-placeholder-not-a-token",
    "REPLICATE_BASE_URL": "http://127.0.0.1:9",
    "REPLICATE_HTTP_TIMEOUT_SECONDS": "2",
    "RATE_LIMIT_UPLOADS": "100000/minute",
    "RATE_LIMIT_GENERATIONS": "100000/minute",
    "RATE_LIMIT_COMPOSITIONS": "100000/minute",
}
# Tiny clips in the containers the service accepts, by the extension hooks.py maps to a
# media type; made by the image's own FFmpeg.
CLIPS: dict[str, dict[str, Any]] = {
    "tiny.mp4": {},
    "tiny.mov": {},
    "silent.mkv": {"audio": False},
    "silent.webm": {"audio": False, "codec": "libvpx"},
}


@dataclass
class FuzzRun:
    seed: int
    label: str
    cases: int | None = None
    seconds: float | None = None


def _random_seed() -> int:
    chosen = os.environ.get(SEED_ENV, "").strip()
    if chosen:
        if not chosen.isdigit():
            raise pytest.UsageError(f"{SEED_ENV}={chosen!r} is not a non-negative integer")
        return int(chosen)
    return secrets.randbelow(2**32)


# The random seed is drawn (or read from FUZZ_SEED) when pytest starts.
RUNS = [FuzzRun(FIXED_SEED, "fixed"), FuzzRun(0, "random")]


def pytest_configure(config: pytest.Config) -> None:
    RUNS[1].seed = _random_seed()


def _seeds_line() -> str:
    fixed, random = RUNS
    return (
        f"fuzz seeds: fixed {fixed.seed}, random {random.seed} "
        f"(replay the random one: {SEED_ENV}={random.seed} tox -e fuzz)"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    # Written even under -q, before anything can fail.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(_seeds_line())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.section("Schemathesis")
    terminalreporter.write_line(_seeds_line())
    for run in RUNS:
        if run.cases is None:
            terminalreporter.write_line(f"seed {run.seed} ({run.label}): no complete run")
        else:
            terminalreporter.write_line(
                f"seed {run.seed} ({run.label}): {run.cases} cases in {run.seconds:.1f} s"
            )
    done = [run for run in RUNS if run.cases is not None]
    if done:
        total = sum(run.cases or 0 for run in done)
        seconds = sum(run.seconds or 0 for run in done)
        terminalreporter.write_line(f"total: {total} cases in {seconds:.1f} s")


@pytest.fixture(scope="session")
def docker() -> Any:
    return docker_client()


@pytest.fixture(scope="session")
def clips_dir(docker: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    run = image_tool(docker, folder)
    for name, options in CLIPS.items():
        make_clip(folder / name, run=run, seconds=0.5, size="96x64", rate=10, **options)
    return folder


@pytest.fixture(scope="session")
def service(docker: Any) -> Iterator[RunningService]:
    with run_service(docker, environment=SERVICE_ENV) as running:
        yield running
