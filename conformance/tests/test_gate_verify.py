"""conformance-verify against a real registry, as a deploy job runs it.

Each case pushes an image with Docker, stores attestations beside it with
oci.attach (what the gate does after a push), and judges the program by its
exit status and its one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from conformance.gate import oci
from conformance.gate.registry import Repository
from conformance.tests.registry import (
    GateImage,
    Keys,
    LocalRegistry,
    docker_client,
    docker_push,
    gate_images,
    keys,
    make_report,
    other_keys,
    registry,
)

pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "gate_images", "keys", "other_keys", "registry"]  # fixtures
REPO_ROOT = Path(__file__).resolve().parents[2]
PROG = "conformance-verify"


@dataclass
class Pushed:
    repository: Repository
    digest: str

    @property
    def by_tag(self) -> str:
        return f"{self.repository.name}:v1"

    @property
    def by_digest(self) -> str:
        return f"{self.repository.name}@{self.digest}"

    def attach(self, envelope: bytes) -> None:
        oci.attach(self.repository, self.digest, envelope)


@pytest.fixture
def pushed(
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    gate_images: tuple[GateImage, GateImage],
) -> Pushed:
    """The first test image pushed as REPO:v1 to a fresh repository."""
    path = f"gate-tests/verify-{uuid.uuid4().hex[:8]}"
    digest = docker_push(docker_client, registry, path, gate_images[0], "v1")
    return Pushed(Repository(registry.host, path), digest)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def reason(self) -> str:
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got: {self.stderr!r}"
        return lines[0]


def verify(*args: str, tmp: Path) -> Run:
    """The program as a deploy job runs it; no Docker login of this machine is read."""
    env = {**os.environ, "DOCKER_CONFIG": str(tmp / "no-docker-config")}
    done = subprocess.run(
        [sys.executable, "-m", "conformance.gate.verify", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def test_a_good_attestation_verifies_by_tag_and_by_digest(
    pushed: Pushed, gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    image, _ = gate_images
    pushed.attach(keys.sign(make_report(image.id)))
    for reference in (pushed.by_tag, pushed.by_digest):
        run = verify(reference, "--public-key", str(keys.public), tmp=tmp_path)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == pushed.by_digest
        assert run.reason == (
            f"{PROG}: {pushed.by_digest} (image {image.id}) attested green under no allowances"
        )


def test_no_attestation_is_refused(pushed: Pushed, keys: Keys, tmp_path: Path) -> None:
    run = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 1
    assert run.reason == f"{PROG}: not verified: no attestation for {pushed.by_digest}"
    assert run.stdout == ""


def test_an_attestation_signed_by_another_key_is_refused(
    pushed: Pushed,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    other_keys: Keys,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    pushed.attach(other_keys.sign(make_report(image.id)))
    run = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 1
    assert run.reason.startswith(
        f"{PROG}: not verified: signature invalid: the attestation is signed by another key"
    )


def test_an_attestation_about_another_image_is_refused(
    pushed: Pushed, gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    """A genuine, green attestation of the other image, stored beside this one."""
    image, other = gate_images
    pushed.attach(keys.sign(make_report(other.id)))
    run = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 1
    assert run.reason == (
        f"{PROG}: not verified: subject is another image: the attestation is about image "
        f"{other.id}, not this image ({image.id})"
    )


def test_a_report_that_is_not_green_is_refused(
    pushed: Pushed, gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    image, _ = gate_images
    pushed.attach(keys.sign(make_report(image.id, {"FF-CODECS": "failed"})))
    run = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 1
    assert run.reason == f"{PROG}: not verified: report not green: FF-CODECS failed"


def test_the_policy_decides_on_waivers(
    pushed: Pushed, gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    image, _ = gate_images
    report = make_report(image.id, {"IMG-SIZE": "waived"}, waivers={"IMG-SIZE": "GPU libs"})
    pushed.attach(keys.sign(report))
    key = ["--public-key", str(keys.public)]

    refused = verify(pushed.by_tag, *key, tmp=tmp_path)
    assert refused.returncode == 1
    assert "IMG-SIZE waived (not allowed: --allow-waiver IMG-SIZE)" in refused.reason

    allowed = verify(pushed.by_tag, *key, "--allow-waiver", "IMG-SIZE", tmp=tmp_path)
    assert allowed.returncode == 0, allowed.stderr

    policy = tmp_path / "policy.toml"
    policy.write_text('[allow]\nwaivers = ["IMG-SIZE"]\n')
    by_file = verify(pushed.by_tag, *key, "--policy", str(policy), tmp=tmp_path)
    assert by_file.returncode == 0, by_file.stderr
    assert f"green under {policy}" in by_file.reason


def test_one_good_attestation_among_bad_ones_is_enough(
    pushed: Pushed,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    other_keys: Keys,
    tmp_path: Path,
) -> None:
    image, other = gate_images
    pushed.attach(other_keys.sign(make_report(image.id)))
    pushed.attach(keys.sign(make_report(other.id)))
    refused = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert refused.returncode == 1
    # The reason of the attestation that got furthest.
    assert refused.reason.startswith(
        f"{PROG}: not verified: none of the 2 attestations holds: subject is another image"
    )

    pushed.attach(keys.sign(make_report(image.id)))
    run = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 0, run.stderr


def test_a_tampered_attestation_is_refused(
    pushed: Pushed, gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    """The envelope's payload edited after signing (here: a red report made green)."""
    import base64
    import json

    image, _ = gate_images
    red = make_report(image.id, {"FF-CODECS": "failed"})
    envelope = json.loads(keys.sign(red))
    green = keys.sign(make_report(image.id))
    envelope["payload"] = json.loads(green)["payload"]  # a payload this signature is not for
    assert base64.b64decode(envelope["payload"])
    pushed.attach(json.dumps(envelope).encode())
    run = verify(pushed.by_tag, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 1
    assert run.reason.startswith(f"{PROG}: not verified: signature invalid: ")
    assert "does not match its content" in run.reason


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["127.0.0.1:5000/app"], "names neither a tag (:TAG) nor a digest"),
        (["app:v1"], "must start with a registry host"),
        (["127.0.0.1:5000/app@sha256:abc"], "has no sha256 digest after '@'"),
        ([], "the following arguments are required"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], reason: str, keys: Keys, tmp_path: Path
) -> None:
    run = verify(*args, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 2
    assert run.reason.startswith(f"{PROG}: usage error: ")
    assert reason in run.reason


def test_a_missing_or_private_key_is_a_usage_error(keys: Keys, tmp_path: Path) -> None:
    missing = verify("127.0.0.1:5000/app:v1", "--public-key", "/nonexistent.pub", tmp=tmp_path)
    assert missing.returncode == 2
    assert "--public-key: cannot read public key /nonexistent.pub" in missing.reason
    private = verify("127.0.0.1:5000/app:v1", "--public-key", str(keys.private), tmp=tmp_path)
    assert private.returncode == 2
    assert "is a private key" in private.reason


def test_an_image_not_in_the_registry_is_refused(
    registry: LocalRegistry, keys: Keys, tmp_path: Path
) -> None:
    image = f"{registry.host}/gate-tests/none:v1"
    run = verify(image, "--public-key", str(keys.public), tmp=tmp_path)
    assert run.returncode == 1
    assert run.reason == f"{PROG}: not verified: {image} is not in the registry"
