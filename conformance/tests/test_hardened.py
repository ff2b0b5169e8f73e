"""The positive controls: the mutants' base image passes (or a mutant's failure proves
nothing), and so does the reference service built as `--target hardened` (no shell,
no coreutils, no package manager), with the same verdict on every check."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import docker.errors
import pytest

from conformance.catalogue import CHECKS
from conformance.probes.filesystem import ImageFilesystem
from conformance.tests import prereq
from conformance.tests.suite_run import BASE_IMAGE, leftovers, run_suite
from conformance.tests.test_mutants import SLOW

pytestmark = pytest.mark.docker

HARDENED_IMAGE = os.environ.get("CONFORMANCE_HARDENED_IMAGE", "ai-video-backend:hardened")
# Beside the mutants (parallel runs), the timing checks stay out (SLOW: they run with
# their own mutant), and SPA-BROWSER needs the browser env; the browser env runs the
# shell-less image through everything, those included.
ELSEWHERE = sorted({*SLOW, "SPA-BROWSER"})


@pytest.fixture(scope="module")
def hardened() -> str:
    try:
        docker.from_env().images.get(HARDENED_IMAGE)
    except docker.errors.ImageNotFound:
        prereq.missing(
            f"image {HARDENED_IMAGE} is not built: "
            "TARGET=hardened scripts/build-backend.sh hardened builds it"
        )
    return HARDENED_IMAGE


def test_the_image_has_no_shell(hardened: str) -> None:
    container = docker.from_env().containers.create(hardened, ["true"], entrypoint=[])
    try:
        fs = ImageFilesystem.from_tar(container.export())
    finally:
        container.remove(force=True)
    found = {
        p: fs.which(p) for p in ("sh", "bash", "dash", "ls", "cat", "sleep", "apt-get", "dpkg")
    }
    assert set(found.values()) == {None}, found
    assert fs.which("python", "/opt/venv/bin:/usr/bin") and fs.which("ffmpeg", "/usr/local/bin")


def test_base_and_shell_less_images_pass_with_the_same_verdicts(
    hardened: str, tmp_path: Path
) -> None:
    verdicts = {}
    for image in (hardened, BASE_IMAGE):
        run = run_suite(
            image,
            tmp_path / f"{image.replace(':', '-')}.json",
            f"--conformance-exclude={','.join(ELSEWHERE)}",
        )
        assert run.report is not None, run.output[-3000:]
        verdicts[image] = {c["id"]: c["status"] for c in run.report["checks"]}
        assert leftovers(run.pid) == []
    everything = dict.fromkeys(sorted(set(CHECKS) - set(ELSEWHERE)), "passed")
    for image, verdict in verdicts.items():
        ran = {i: s for i, s in verdict.items() if i not in ELSEWHERE}
        assert ran == everything, f"{image}: {ran}"
    assert verdicts[hardened] == verdicts[BASE_IMAGE]


@pytest.mark.browser
def test_shell_less_image_passes_every_check(hardened: str, tmp_path: Path) -> None:
    """In the browser env, alone on the machine: all of it, timing and browser included."""
    prereq.chromium()
    run = run_suite(hardened, tmp_path / "report.json")
    assert run.report is not None, run.output[-3000:]
    statuses = {c["id"]: c["status"] for c in run.report["checks"]}
    assert statuses == dict.fromkeys(CHECKS, "passed"), run.output[-3000:]
    assert run.report["green"] is True and run.returncode == 0
    assert leftovers(run.pid) == []
