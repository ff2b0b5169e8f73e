"""The gate on attestations written and signed by the suite itself, not built by hand.

The suite runs against two tiny images made of metadata and a few files: one that
meets the contract's image-metadata rules and one that does not. Only the IMG
checks can pass on them, so every run leaves the other checks out, the way a
fork's partial CI job would: by ``--conformance-exclude``, ``-k``, ``--deselect``
or a path subset. Such a run is never green by itself: the gate refuses it naming
what is missing, and accepts it only when the releaser allows every gap by name
(``--allow-exclude`` or a policy file). A loosened profile is refused naming the
key; the red image is refused by check ID; and the good image's attestation does
not cover the bad image. Each suite run takes a few seconds (no container starts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.catalogue import CHECKS
from conformance.gate import oci
from conformance.gate.registry import Repository
from conformance.tests.registry import (
    GateImage,
    Keys,
    LocalRegistry,
    docker_client,
    import_image,
    keys,
    registry,
    remove_images,
)
from conformance.tests.test_gate_registry import REPO_ROOT, GateRun, run_gate, run_verify

pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "keys", "registry"]  # fixtures used by name

IMAGE_CHECKS = "conformance/checks/test_image.py"
# What these images cannot pass: everything that needs a running app or its files.
NOT_IMAGE = [i for i in CHECKS if not i.startswith("IMG-")]
EXCLUDE_NOT_IMAGE = f"--conformance-exclude={','.join(NOT_IMAGE)}"
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


@dataclass(frozen=True)
class SuiteRun:
    report: dict[str, Any]
    attestation: Path
    markdown: Path

    def excluded(self) -> list[str]:
        return [c["id"] for c in self.report["checks"] if c["status"] == "excluded"]


def run_suite(image: GateImage, out: Path, keys: Keys, *selection: str) -> SuiteRun:
    """The suite as CI runs it, signing its attestation with the releaser's key."""
    out.mkdir(parents=True, exist_ok=True)
    # Nothing from the machine's CONFORMANCE_* settings: the arguments say it all.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    written = SuiteRun({}, out / "attestation.json", out / "summary.md")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection,
         f"--image={image.ref}", f"--conformance-json={out / 'conformance.json'}",
         f"--conformance-markdown={written.markdown}",
         f"--conformance-attestation={written.attestation}",
         f"--conformance-signing-key={keys.private}"],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert written.attestation.is_file(), (
        f"the suite wrote no attestation:\n{done.stdout[-2000:]}{done.stderr}"
    )
    report = json.loads((out / "conformance.json").read_text())
    return SuiteRun(report, written.attestation, written.markdown)


def gate(
    registry: LocalRegistry, image: GateImage, run: SuiteRun, keys: Keys, *args: str
) -> tuple[GateRun, str]:
    """The gate on the suite's attestation, into a fresh repository; and that repository."""
    repo_path = f"gate-tests/real-{uuid.uuid4().hex[:8]}"
    done = run_gate(
        "--image", image.ref, "--attestation", str(run.attestation),
        "--public-key", str(keys.public), "--repository", f"{registry.host}/{repo_path}",
        "--tag", "abc1234", *args,
    )  # fmt: skip
    return done, repo_path


def allow_excludes(ids: list[str]) -> list[str]:
    return [arg for check_id in ids for arg in ("--allow-exclude", check_id)]


def policy_file(path: Path, excludes: list[str]) -> Path:
    """A policy TOML that allows leaving out ``excludes`` (JSON lists are TOML arrays)."""
    path.write_text(f"[allow]\nexcludes = {json.dumps(excludes)}\n")
    return path


@pytest.fixture(scope="module")
def good_run(
    suite_images: tuple[GateImage, GateImage], keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> SuiteRun:
    """The good image's run with every non-image check excluded by name."""
    return run_suite(suite_images[0], tmp_path_factory.mktemp("good"), keys, EXCLUDE_NOT_IMAGE)


def _deselect_img_size(image: GateImage) -> list[str]:
    """``--deselect`` of IMG-SIZE's test, by the node ID pytest itself reports."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         IMAGE_CHECKS, "-k", "IMG_SIZE", f"--image={image.ref}"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip
    nodes = [line for line in done.stdout.splitlines() if line.startswith(IMAGE_CHECKS + "::")]
    assert len(nodes) == 1, f"expected one test for IMG-SIZE:\n{done.stdout}{done.stderr}"
    return [EXCLUDE_NOT_IMAGE, "--deselect", nodes[0]]


# Each way of leaving checks out: (suite arguments, what the run leaves out, the one
# gap the refusal must name when every other gap is allowed).
SELECTIONS: dict[str, tuple[Callable[[GateImage], list[str]], list[str], str]] = {
    "--conformance-exclude": (lambda image: [EXCLUDE_NOT_IMAGE], NOT_IMAGE, NOT_IMAGE[-1]),
    "-k": (
        lambda image: [EXCLUDE_NOT_IMAGE, "-k", "not IMG_LABELS"],
        ["IMG-LABELS", *NOT_IMAGE],
        "IMG-LABELS",
    ),
    "--deselect": (_deselect_img_size, ["IMG-SIZE", *NOT_IMAGE], "IMG-SIZE"),
    "path subset": (lambda image: [IMAGE_CHECKS], NOT_IMAGE, NOT_IMAGE[0]),
}


@pytest.mark.parametrize("how", list(SELECTIONS))
def test_a_run_that_leaves_checks_out_is_pushed_only_when_every_gap_is_allowed(
    how: str,
    registry: LocalRegistry,
    suite_images: tuple[GateImage, GateImage],
    good_run: SuiteRun,
    keys: Keys,
    tmp_path: Path,
) -> None:
    good, _ = suite_images
    arguments, left_out, named = SELECTIONS[how]
    run = good_run if how == "--conformance-exclude" else (
        run_suite(good, tmp_path / "run", keys, *arguments(good))
    )  # fmt: skip
    passed = [c["id"] for c in run.report["checks"] if c["status"] == "passed"]
    assert sorted(run.excluded()) == sorted(left_out)
    assert sorted(passed) == sorted(set(CHECKS) - set(left_out)), "the test image changed"
    before = registry.catalog()

    # Nothing allowed: refused, naming the gaps.
    bare, _ = gate(registry, good, run, keys)
    assert bare.returncode == 1, bare.stderr
    ordered = [i for i in CHECKS if i in left_out]
    if len(ordered) == 1:
        assert bare.reason == (
            f"conformance-gate: refused: report not green: {ordered[0]} excluded "
            f"(not allowed: --allow-exclude {ordered[0]})"
        )
    else:  # one reason names the gaps, the first eight of them by ID
        assert bare.reason.startswith(
            f"conformance-gate: refused: report not green: {len(ordered)} checks excluded "
            f"without allowance ({', '.join(ordered[:8])}"
        )

    # Every gap allowed but one: refused, naming exactly that one.
    others = [i for i in left_out if i != named]
    one_short, _ = gate(registry, good, run, keys, *allow_excludes(others))
    assert one_short.returncode == 1, one_short.stderr
    assert one_short.reason == (
        f"conformance-gate: refused: report not green: {named} excluded "
        f"(not allowed: --allow-exclude {named})"
    )
    assert registry.catalog() == before

    # Every gap allowed, by flags or by a policy file: pushed.
    by_flags, _ = gate(registry, good, run, keys, *allow_excludes(left_out))
    assert by_flags.returncode == 0, by_flags.stderr
    assert f"({len(passed)} passed; excluded " in by_flags.reason
    policy = policy_file(tmp_path / "policy.toml", left_out)
    by_file, repo_path = gate(registry, good, run, keys, "--policy", str(policy))
    assert by_file.returncode == 0, by_file.stderr
    _, manifest = registry.manifest(repo_path, "abc1234")
    assert manifest["config"]["digest"] == good.id == run.report["image"]["id"]
    # The suite's own envelope is what is stored beside the image, and a deployer
    # with the same policy accepts it.
    stored = oci.fetch_attestations(Repository(registry.host, repo_path), by_file.digest)
    assert stored == [run.attestation.read_bytes()]
    deploy = run_verify(by_file.stdout.strip(), keys, tmp_path, "--policy", str(policy))
    assert deploy.returncode == 0, deploy.stderr


def test_a_raised_limit_is_refused_naming_the_key(
    registry: LocalRegistry,
    suite_images: tuple[GateImage, GateImage],
    keys: Keys,
    tmp_path: Path,
) -> None:
    good, _ = suite_images
    profile = tmp_path / "fork.toml"
    profile.write_text("[image]\nmax_size_mb = 4000.0\n")
    # The same policy file for the suite and the gate: the gaps are allowed, the limit not.
    policy = policy_file(tmp_path / "policy.toml", NOT_IMAGE)
    run = run_suite(
        good, tmp_path / "run", keys, EXCLUDE_NOT_IMAGE,
        f"--conformance-profile={profile}", f"--conformance-policy={policy}",
    )  # fmt: skip
    reason = (
        "image.max_size_mb overridden 500.0 -> 4000.0 "
        "(not allowed: --allow-override image.max_size_mb)"
    )

    # The summary shows the deviation first, before any result.
    lines = run.markdown.read_text().splitlines()
    assert lines[:6] == [
        f"## Conformance: `{good.ref}` is NOT green",
        "",
        "### Deviations from the reference profile (1)",
        "",
        "| Key | Reference | This run | Direction | Allowed | Source |",
        "|---|---|---|---|---|---|",
    ]
    # (the Source cell is the profile's path, shortened to fit)
    assert lines[6].startswith(
        "| `image.max_size_mb` | 500.0 | 4000.0 | raised (looser) | **no** | "
    )
    assert f"**Why not green:** {reason}" in lines

    refused, _ = gate(registry, good, run, keys, "--policy", str(policy))
    assert refused.returncode == 1, refused.stderr
    assert refused.reason == f"conformance-gate: refused: report not green: {reason}"

    allowed, _ = gate(
        registry, good, run, keys, "--policy", str(policy),
        "--allow-override", "image.max_size_mb",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "overridden image.max_size_mb" in allowed.reason


def test_the_red_image_is_refused_by_check_id(
    registry: LocalRegistry,
    suite_images: tuple[GateImage, GateImage],
    keys: Keys,
    tmp_path: Path,
) -> None:
    _, bad = suite_images
    run = run_suite(bad, tmp_path / "run", keys, EXCLUDE_NOT_IMAGE)
    failing = [c["id"] for c in run.report["checks"] if c["status"] in ("failed", "error")]
    assert failing, "the broken test image passed every metadata check"
    before = registry.catalog()

    refused, _ = gate(registry, bad, run, keys, *allow_excludes(NOT_IMAGE))

    assert refused.returncode == 1
    assert refused.reason.startswith(f"conformance-gate: refused: report not green: {failing[0]} ")
    assert registry.catalog() == before


def test_the_good_images_attestation_does_not_cover_the_bad_image(
    registry: LocalRegistry,
    suite_images: tuple[GateImage, GateImage],
    good_run: SuiteRun,
    keys: Keys,
) -> None:
    good, bad = suite_images
    before = registry.catalog()
    refused, _ = gate(registry, bad, good_run, keys, *allow_excludes(NOT_IMAGE))
    assert refused.returncode == 1
    assert refused.reason == (
        "conformance-gate: refused: subject is another image: the attestation is about image "
        f"{good.id}, not the image being pushed ({bad.id})"
    )
    assert registry.catalog() == before
