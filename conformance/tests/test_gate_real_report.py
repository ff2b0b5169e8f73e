"""The gate on reports written by the suite itself, not built by hand.

The suite's image-metadata checks (no container needed) run against two tiny
images: one that meets those rules and one that does not; every other check is
excluded explicitly, which the gate accepts only with --allow-skip for each. The
gate must push the first on the suite's own green report and refuse the second by
check ID, and refuse any report of a selection (a path subset here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.catalogue import CHECKS
from conformance.tests.registry import (
    REPORT_KEY,
    GateImage,
    LocalRegistry,
    docker_client,
    import_image,
    registry,
    remove_images,
)
from conformance.tests.test_gate_registry import REPO_ROOT, run_gate

pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "registry"]  # fixtures used by name

IMAGE_CHECKS = "conformance/checks/test_image.py"
NOT_IMAGE = sorted(i for i in CHECKS if not i.startswith("IMG-"))
ALLOW_NOT_IMAGE = [arg for check_id in NOT_IMAGE for arg in ("--allow-skip", check_id)]
# What the image-metadata rules of the contract ask for, in docker import --change form.
CONFORMING_CHANGES = [
    "USER appuser",
    "WORKDIR /app",
    "EXPOSE 8000/tcp",
    'HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["/app/health"]',
    'CMD ["/app/server"]',
    "LABEL org.opencontainers.image.source=https://example.org/gate-test"
    " org.opencontainers.image.revision=0000000"
    " org.opencontainers.image.version=0.0.0-test"
    " org.opencontainers.image.created=2026-01-01T00:00:00Z",
]
CONFORMING_FILES = {
    "etc/passwd": b"root:x:0:0::/root:/usr/sbin/nologin\n"
    b"appuser:x:1000:1000::/app:/usr/sbin/nologin\n",
    "etc/group": b"root:x:0:\nappuser:x:1000:\n",
    "app/README": b"gate test image\n",
}


@pytest.fixture(scope="module")
def suite_images(docker_client: docker.DockerClient) -> Iterator[tuple[GateImage, GateImage]]:
    run = uuid.uuid4().hex[:10]
    good = import_image(
        docker_client, f"conformance-gate-test:{run}-meta-ok", CONFORMING_FILES, CONFORMING_CHANGES
    )
    # Runs as root, no healthcheck, shell-form command: several IMG rules broken.
    bad = import_image(
        docker_client, f"conformance-gate-test:{run}-meta-bad", {"x": run.encode()}, ["CMD /x"]
    )
    yield good, bad
    remove_images(docker_client, (good, bad))


def run_suite(image: GateImage, report: Path, *subset: str) -> dict[str, Any]:
    """The suite's metadata checks as CI runs them, writing its sealed JSON report:
    every other check excluded (or, given ``subset``, only those test paths collected)."""
    env = {**os.environ, "CONFORMANCE_REPORT_KEY": REPORT_KEY}
    select = list(subset) or [f"--conformance-exclude={','.join(NOT_IMAGE)}"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *select,
         f"--image={image.ref}", f"--conformance-json={report}"],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert report.is_file(), f"the suite wrote no report:\n{done.stdout[-2000:]}{done.stderr}"
    return dict(json.loads(report.read_text()))


def test_the_suites_green_report_is_pushed(
    registry: LocalRegistry, suite_images: tuple[GateImage, GateImage], tmp_path: Path
) -> None:
    good, _ = suite_images
    report = run_suite(good, tmp_path / "conformance.json")
    failing = [c["id"] for c in report["checks"] if c["status"] not in ("passed", "skipped")]
    assert report["green"] and not failing, f"the test image no longer meets {failing}"
    repo_path = f"gate-tests/real-{uuid.uuid4().hex[:8]}"

    gate = run_gate(
        "--image", good.ref, "--report", str(tmp_path / "conformance.json"),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "abc1234", *ALLOW_NOT_IMAGE,
    )  # fmt: skip

    assert gate.returncode == 0, gate.stderr
    digest = gate.stdout.strip().rsplit("@", 1)[1]
    manifest_digest, manifest = registry.manifest(repo_path, "abc1234")
    assert manifest_digest == digest
    assert manifest["config"]["digest"] == good.id == report["image"]["id"]


def test_the_suites_red_report_is_refused_by_check_id(
    registry: LocalRegistry, suite_images: tuple[GateImage, GateImage], tmp_path: Path
) -> None:
    _, bad = suite_images
    report = run_suite(bad, tmp_path / "conformance.json")
    failing = [c["id"] for c in report["checks"] if c["status"] in ("failed", "error")]
    assert failing, "the broken test image passed every metadata check"
    repo_path = f"gate-tests/real-{uuid.uuid4().hex[:8]}"

    gate = run_gate(
        "--image", bad.ref, "--report", str(tmp_path / "conformance.json"),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t", *ALLOW_NOT_IMAGE,
    )  # fmt: skip

    assert gate.returncode == 1
    assert "refused: the report is not green: " in gate.reason
    assert failing[0] in gate.reason
    assert repo_path not in registry.catalog()


def test_the_good_images_report_does_not_cover_the_bad_image(
    registry: LocalRegistry, suite_images: tuple[GateImage, GateImage], tmp_path: Path
) -> None:
    good, bad = suite_images
    run_suite(good, tmp_path / "conformance.json")
    repo_path = f"gate-tests/real-{uuid.uuid4().hex[:8]}"
    gate = run_gate(
        "--image", bad.ref, "--report", str(tmp_path / "conformance.json"),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t",
    )  # fmt: skip
    assert gate.returncode == 1
    assert f"the report is for image {good.id}" in gate.reason
    assert repo_path not in registry.catalog()


def test_a_report_of_a_selection_is_refused_naming_what_is_missing(
    registry: LocalRegistry, suite_images: tuple[GateImage, GateImage], tmp_path: Path
) -> None:
    good, _ = suite_images
    report = run_suite(good, tmp_path / "conformance.json", IMAGE_CHECKS)
    assert report["selection"]["complete"] is False
    repo_path = f"gate-tests/real-{uuid.uuid4().hex[:8]}"
    gate = run_gate(
        "--image", good.ref, "--report", str(tmp_path / "conformance.json"),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t", *ALLOW_NOT_IMAGE,
    )  # fmt: skip
    assert gate.returncode == 1
    assert "the report covers a selection, not the contract: " in gate.reason
    assert NOT_IMAGE[0] in gate.reason
    assert repo_path not in registry.catalog()
