"""The release gate against a real registry: green pushes, everything else is refused.

Each refusal must exit 1 with one line naming the reason, and the registry's
catalog must show that nothing reached it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.attestation import SIGNING_KEY_ENV, load_public_key, subject_digests, verify
from conformance.catalogue import CHECKS
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
# What the gate must not pick up from the machine it runs on.
_OWN_ENV = (SIGNING_KEY_ENV,)


@dataclass
class GateRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def reason(self) -> str:
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got: {self.stderr!r}"
        return lines[0]

    @property
    def digest(self) -> str:
        return self.stdout.strip().rsplit("@", 1)[1]


def run_gate(*args: str, env: dict[str, str] | None = None) -> GateRun:
    """The gate as CI runs it: a separate process, judged by exit code and output."""
    environ = {k: v for k, v in os.environ.items() if k not in _OWN_ENV}
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "conformance.gate", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=environ,
        timeout=120,
    )
    return GateRun(done.returncode, done.stdout, done.stderr)


def write(path: Path, envelope: bytes) -> Path:
    path.write_bytes(envelope)
    return path


def attested(tmp_path: Path, keys: Keys, image: GateImage, **report: Any) -> list[str]:
    """``--attestation FILE --public-key FILE`` for a signed report about ``image``."""
    name = f"attestation-{image.id[7:19]}.json"
    envelope = write(tmp_path / name, keys.sign(make_report(image.id, **report)))
    return ["--attestation", str(envelope), "--public-key", str(keys.public)]


def run_verify(reference: str, keys: Keys, tmp_path: Path, *args: str) -> GateRun:
    """conformance-verify as a deploy job runs it (no Docker login of this machine)."""
    done = subprocess.run(
        [sys.executable, "-m", "conformance.gate.verify", reference,
         "--public-key", str(keys.public), *args],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
        env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "no-docker-config")},
    )  # fmt: skip
    return GateRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def repo_path() -> str:
    return f"gate-tests/app-{uuid.uuid4().hex[:8]}"


def test_a_green_attestation_is_pushed_and_stored_beside_the_image(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    args = attested(tmp_path, keys, image)
    target = f"{registry.host}/{repo_path}"

    gate = run_gate(
        "--image", image.ref, *args, "--repository", target,
        "--tag", "abc1234", "--tag", "v1.2.3",
    )  # fmt: skip

    assert gate.returncode == 0, gate.stderr
    printed = gate.stdout.strip()
    assert printed.startswith(f"{target}@sha256:")
    digest = gate.digest
    assert repo_path in registry.catalog()
    assert f"pushed {image.id} as abc1234, v1.2.3 ({len(CHECKS)} passed)" in gate.reason
    stored_as = f"tag {oci.fallback_tag(digest)}"
    assert gate.reason.endswith(f"the suite's attestation stored ({stored_as})")
    assert sorted(registry.tags(repo_path)) == sorted(
        ["abc1234", "v1.2.3", oci.fallback_tag(digest)]
    )
    for tag in ("abc1234", "v1.2.3"):
        manifest_digest, manifest = registry.manifest(repo_path, tag)
        assert manifest_digest == digest
        # The manifest's config blob IS the image ID: the registry holds exactly this image.
        assert manifest["config"]["digest"] == image.id

    # Beside the image: exactly the envelope the suite wrote, and a deployer accepts it.
    envelope = Path(args[1]).read_bytes()
    assert oci.fetch_attestations(Repository(registry.host, repo_path), digest) == [envelope]
    deploy = run_verify(f"{target}:v1.2.3", keys, tmp_path)
    assert deploy.returncode == 0, deploy.stderr
    assert deploy.stdout.strip() == printed

    # The gate drops the local tags it made to push, so this pull asks the registry.
    assert not _has(docker_client, f"{target}:abc1234")
    pulled = docker_client.images.pull(target, tag="abc1234")
    assert pulled.id == image.id
    assert f"{target}@{digest}" in pulled.attrs["RepoDigests"]


def _has(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


@pytest.mark.parametrize("given_as", ["--signing-key", SIGNING_KEY_ENV])
def test_with_the_signing_key_the_stored_attestation_also_names_the_repo_digest(
    given_as: str,
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    target = f"{registry.host}/{repo_path}"
    signing, env = [], {}
    if given_as == SIGNING_KEY_ENV:
        env[SIGNING_KEY_ENV] = keys.private.read_text()
    else:
        signing = ["--signing-key", str(keys.private)]

    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image), *signing,
        "--repository", target, "--tag", "v1", env=env,
    )  # fmt: skip

    assert gate.returncode == 0, gate.stderr
    assert gate.reason.endswith(
        "the attestation, re-signed with the repo digest as a subject, stored "
        f"(tag {oci.fallback_tag(gate.digest)})"
    )
    [stored] = oci.fetch_attestations(Repository(registry.host, repo_path), gate.digest)
    statement = verify(stored, load_public_key(keys.public))
    assert subject_digests(statement) == {image.id, gate.digest}
    assert {s["name"] for s in statement["subject"]} == {"under-test", target}
    deploy = run_verify(f"{target}@{gate.digest}", keys, tmp_path)
    assert deploy.returncode == 0, deploy.stderr


def test_the_default_tag_is_the_tag_of_the_image(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{registry.host}/{repo_path}",
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr
    assert image.ref.rsplit(":", 1)[1] in registry.tags(repo_path)


def test_allowed_waivers_and_skips_are_pushed(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    statuses = {"IMG-USER": "passed", "IMG-SIZE": "waived", "SPA-BROWSER": "skipped"}
    args = attested(
        tmp_path, keys, image, statuses=statuses, waivers={"IMG-SIZE": "fork ships CUDA"}
    )
    gate = run_gate(
        "--image", image.ref, *args, "--repository", f"{registry.host}/{repo_path}", "--tag", "t",
        "--allow-waiver", "IMG-SIZE", "--allow-skip", "SPA-BROWSER",
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr
    assert "waived IMG-SIZE" in gate.reason
    assert "skipped SPA-BROWSER" in gate.reason
    assert "t" in registry.tags(repo_path)


# --- refusals -----------------------------------------------------------------
# Each case: (how to make the attestation file, extra gate args, reason fragment).
EnvelopeMaker = Callable[[Path, Keys, Keys, GateImage, GateImage], Path]


def _signed(**kwargs: Any) -> EnvelopeMaker:
    """The suite's attestation of a report about the image under test."""
    return lambda tmp, keys, _others, image, _other: write(
        tmp / "a.json", keys.sign(make_report(image.id, **kwargs))
    )


def _edited(tmp: Path, keys: Keys, _others: Keys, image: GateImage, _other: GateImage) -> Path:
    """A red report's envelope with its payload swapped for a green one after signing."""
    red = json.loads(keys.sign(make_report(image.id, {"FF-CODECS": "failed"})))
    green = json.loads(keys.sign(make_report(image.id)))
    red["payload"] = green["payload"]
    return write(tmp / "a.json", json.dumps(red).encode())


def _other_key(tmp: Path, _keys: Keys, others: Keys, image: GateImage, _other: GateImage) -> Path:
    return write(tmp / "a.json", others.sign(make_report(image.id)))


def _other_image(tmp: Path, keys: Keys, _others: Keys, _image: GateImage, other: GateImage) -> Path:
    """A genuine, green attestation, but of another image."""
    return write(tmp / "a.json", keys.sign(make_report(other.id)))


def _truncated(tmp: Path, keys: Keys, _others: Keys, image: GateImage, _other: GateImage) -> Path:
    envelope = keys.sign(make_report(image.id))
    return write(tmp / "a.json", envelope[: len(envelope) // 2])


def _missing(tmp: Path, _keys: Keys, _others: Keys, _image: GateImage, _other: GateImage) -> Path:
    return tmp / "never-written.json"


def _directory(tmp: Path, _keys: Keys, _others: Keys, _image: GateImage, _o: GateImage) -> Path:
    return tmp


_LOOSENED = [{"key": "image.max_size_mb", "reference": 500, "value": 900}]
_IN_PARTIAL = {"IMG-USER": "passed", "IMG-SIZE": "passed"}
_NOT_IN_PARTIAL = [c for c in CHECKS if c not in _IN_PARTIAL]

REFUSALS: dict[str, tuple[EnvelopeMaker, list[str], str]] = {
    "edited after signing": (
        _edited,
        [],
        "signature invalid: the attestation's signature does not match its content "
        "(edited after signing?)",
    ),
    "signed with another key": (
        _other_key,
        [],
        "signature invalid: the attestation is signed by another key",
    ),
    "about another image": (_other_image, [], "subject is another image: the attestation is about"),
    "truncated file": (_truncated, [], "is not valid JSON (truncated?)"),
    "missing file": (_missing, [], "no attestation at"),
    "a directory": (_directory, [], "is a directory, not an attestation"),
    "red report": (
        _signed(statuses={"IMG-USER": "passed", "FF-CODECS": "failed"}),
        [],
        "refused: report not green: FF-CODECS failed",
    ),
    "check errored": (
        _signed(statuses={"IMG-USER": "passed", "RUN-READY": "error"}),
        [],
        "RUN-READY error",
    ),
    "partial report": (
        _signed(statuses=_IN_PARTIAL, complete=False),
        [],
        f"report not green: {len(CHECKS) - 2} checks missing from the report "
        f"({', '.join(_NOT_IN_PARTIAL[:8])} and {len(CHECKS) - 10} more)",
    ),
    "excluded without --allow-exclude": (
        _signed(statuses={"DEP-ECS": "excluded"}),
        ["--allow-exclude", "DEP-COMPOSE"],
        "report not green: DEP-ECS excluded (not allowed: --allow-exclude DEP-ECS)",
    ),
    "deviation without --allow-override": (
        _signed(deviations=_LOOSENED),
        [],
        "report not green: image.max_size_mb overridden 500 -> 900 "
        "(not allowed: --allow-override image.max_size_mb)",
    ),
    "waiver outside the allowed list": (
        _signed(statuses={"IMG-SIZE": "waived"}, waivers={"IMG-SIZE": "big"}),
        ["--allow-waiver", "IMG-LAYERS"],
        "IMG-SIZE waived (not allowed: --allow-waiver IMG-SIZE)",
    ),
    "skip not allowed": (
        _signed(statuses={"IMG-USER": "passed", "SPA-BROWSER": "skipped"}),
        ["--allow-skip", "SPA-INDEX"],
        "SPA-BROWSER skipped (not allowed: --allow-skip SPA-BROWSER)",
    ),
    "green flag contradicts the checks": (
        _signed(statuses={"IMG-USER": "passed", "RUN-READY": "failed"}, green=True),
        [],
        "report not green: RUN-READY failed",
    ),
    "empty report": (_signed(complete=False), [], "checks missing from the report"),
    "malformed report": (
        _signed(schema_version=1),
        [],
        "the attested report is unusable: the report is malformed: schema_version is 1",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_push_nothing(
    case: str,
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    other_keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    make, extra, reason = REFUSALS[case]
    image, other = gate_images
    envelope = make(tmp_path, keys, other_keys, image, other)
    before = registry.catalog()

    gate = run_gate(
        "--image", image.ref, "--attestation", str(envelope), "--public-key", str(keys.public),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t", *extra,
    )  # fmt: skip

    assert gate.returncode == 1, gate.stderr
    assert gate.reason.startswith("conformance-gate: refused: ")
    assert reason in gate.reason
    assert "Traceback" not in gate.stderr
    assert gate.stdout == ""
    assert registry.catalog() == before
    assert repo_path not in registry.catalog()


def test_the_subject_refusal_names_both_images(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, other = gate_images
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, other),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t",
    )  # fmt: skip
    assert gate.returncode == 1
    assert gate.reason == (
        f"conformance-gate: refused: subject is another image: the attestation is about image "
        f"{other.id}, not the image being pushed ({image.id})"
    )
    assert repo_path not in registry.catalog()


def test_an_unknown_image_is_refused(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    gate = run_gate(
        "--image", "conformance-gate-test:no-such-image", *attested(tmp_path, keys, image),
        "--repository", f"{registry.host}/{repo_path}",
    )  # fmt: skip
    assert gate.returncode == 1
    assert "is not in the local Docker daemon" in gate.reason
    assert repo_path not in registry.catalog()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--repository", "ai-video-backend"], "must start with a registry host"),
        (["--repository", "127.0.0.1:5000/app:latest"], "must not carry a tag"),
        (["--repository", "127.0.0.1:5000/App"], "invalid repository path"),
        (["--repository", "127.0.0.1:5000/app", "--tag", "bad tag"], "not a valid Docker tag"),
        (["--repository", "127.0.0.1:5000/app", "--login", "ecr"], "needs --ecr-registry-id"),
        ([], "the following arguments are required: --repository"),
        (["--repository", "127.0.0.1:5000/app", "--report", "r.json"], "unrecognized arguments"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], reason: str, keys: Keys, tmp_path: Path
) -> None:
    envelope = write(tmp_path / "a.json", b"{}")
    gate = run_gate(
        "--image", "x:y", "--attestation", str(envelope), "--public-key", str(keys.public), *args
    )
    assert gate.returncode == 2
    assert gate.reason.startswith("conformance-gate: usage error: ")
    assert reason in gate.reason


@pytest.mark.parametrize(
    ("key_args", "reason"),
    [
        (["--public-key", "/nonexistent.pub"], "--public-key: cannot read public key"),
        (["--public-key", "PRIVATE"], "is a private key; give the public key"),
        (["--public-key", "PUBLIC", "--signing-key", "/nonexistent.pem"],
         "--signing-key: cannot read signing key file /nonexistent.pem"),
        (["--public-key", "PUBLIC", "--signing-key", "OTHER"],
         "the signing key in --signing-key "),
    ],
)  # fmt: skip
def test_an_unusable_key_is_a_usage_error_before_anything_is_pushed(
    key_args: list[str],
    reason: str,
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    other_keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    files = {"PUBLIC": keys.public, "PRIVATE": keys.private, "OTHER": other_keys.private}
    args = [str(files.get(a, a)) for a in key_args]
    envelope = write(tmp_path / "a.json", keys.sign(make_report(image.id)))
    gate = run_gate(
        "--image", image.ref, "--attestation", str(envelope), *args,
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t",
    )  # fmt: skip
    assert gate.returncode == 2, gate.stderr
    assert gate.reason.startswith("conformance-gate: usage error: ")
    assert reason in gate.reason
    assert repo_path not in registry.catalog()


def test_a_signing_key_in_the_environment_must_be_the_pair_too(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    other_keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t",
        env={SIGNING_KEY_ENV: other_keys.private.read_text()},
    )  # fmt: skip
    assert gate.returncode == 2, gate.stderr
    assert gate.reason.startswith(
        f"conformance-gate: usage error: the signing key in ${SIGNING_KEY_ENV} (keyid "
    )
    assert f"is not the pair of --public-key {keys.public}" in gate.reason
    assert repo_path not in registry.catalog()


def test_a_tag_moved_during_the_push_is_caught(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    repo_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone pushes another image to the same tag between the push and the check."""
    from conformance.gate import push as docker_push
    from conformance.gate.registry import parse_repository

    image, other = gate_images
    target = f"{registry.host}/{repo_path}"
    verify = docker_push._verify

    def push_other_then_verify(*args: Any) -> None:
        docker_client.api.tag(other.id, target, "t")
        for line in docker_client.api.push(target, tag="t", stream=True, decode=True):
            assert "error" not in line, line
        docker_client.api.remove_image(f"{target}:t")
        verify(*args)

    monkeypatch.setattr(docker_push, "_verify", push_other_then_verify)
    with pytest.raises(docker_push.PushFailed, match=r"pushed over concurrently\?"):
        docker_push.push(docker_client, image.id, parse_repository(target), ["t"], None)
    _, manifest = registry.manifest(repo_path, "t")
    assert manifest["config"]["digest"] == other.id


# --- a tag that already holds an image ---------------------------------------------


def _gate_push(
    registry: LocalRegistry,
    image: GateImage,
    repo_path: str,
    tmp_path: Path,
    keys: Keys,
    *args: str,
) -> GateRun:
    return run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{registry.host}/{repo_path}", *args,
    )  # fmt: skip


@pytest.mark.parametrize("resign", [False, True], ids=["as-signed", "re-signed"])
def test_a_rerun_for_the_same_image_changes_nothing(
    resign: bool,
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    signing = ["--signing-key", str(keys.private)] if resign else []
    first = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "t", *signing)
    assert first.returncode == 0, first.stderr
    before = registry.storage_state()

    again = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "t", *signing)

    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout  # the same REPO@sha256:... as the first push
    assert again.reason.startswith(
        f"conformance-gate: {image.id} is already there as t: nothing pushed"
    )
    assert again.reason.endswith("; its attestation is already stored: nothing attached")
    assert registry.storage_state() == before  # no upload, no manifest or tag written
    assert registry.manifest(repo_path, "t")[0] == first.digest
    repository = Repository(registry.host, repo_path)
    assert len(oci.fetch_attestations(repository, first.digest)) == 1

    # Control: a plain re-push of the same image by Docker does write (the tag's
    # link files), so the unchanged storage above is the gate's doing, not blindness.
    docker_push(docker_client, registry, repo_path, image, "t")
    assert registry.storage_state() != before


def test_an_image_already_there_without_an_attestation_gets_one(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    """Pushed by someone else (or a gate run that died before attaching): the image
    is left alone, the attestation is added."""
    image, _ = gate_images
    digest = docker_push(docker_client, registry, repo_path, image, "t")
    repository = Repository(registry.host, repo_path)
    assert oci.fetch_attestations(repository, digest) == []

    gate = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "t")

    assert gate.returncode == 0, gate.stderr
    assert gate.digest == digest
    assert "is already there as t: nothing pushed" in gate.reason
    assert gate.reason.endswith(f"the suite's attestation stored (tag {oci.fallback_tag(digest)})")
    assert len(oci.fetch_attestations(repository, digest)) == 1


def test_a_tag_holding_another_image_is_refused_unless_replaced(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, other = gate_images
    target = f"{registry.host}/{repo_path}"
    first = _gate_push(registry, other, repo_path, tmp_path, keys, "--tag", "t")
    assert first.returncode == 0, first.stderr
    other_manifest = first.digest
    before = registry.storage_state()

    refused = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "t")

    assert refused.returncode == 1, refused.stderr
    assert refused.reason == (
        f"conformance-gate: refused: {target}:t already holds image {other.id} "
        f"({other_manifest}), not {image.id}: pass --replace-tag to move it"
    )
    assert refused.stdout == ""
    assert registry.storage_state() == before
    assert registry.manifest(repo_path, "t")[1]["config"]["digest"] == other.id

    replaced = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "t", "--replace-tag")

    assert replaced.returncode == 0, replaced.stderr
    assert f"pushed {image.id} as t (replacing the image under t)" in replaced.reason
    digest, manifest = registry.manifest(repo_path, "t")
    assert manifest["config"]["digest"] == image.id
    assert replaced.stdout.strip() == f"{target}@{digest}"
    assert len(oci.fetch_attestations(Repository(registry.host, repo_path), digest)) == 1


def test_a_refused_tag_stops_the_other_tags_too(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    """Every tag is looked up before anything is pushed."""
    image, other = gate_images
    assert _gate_push(registry, other, repo_path, tmp_path, keys, "--tag", "old").returncode == 0
    tags = registry.tags(repo_path)
    gate = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "new", "--tag", "old")
    assert gate.returncode == 1
    assert ":old already holds image" in gate.reason
    assert registry.tags(repo_path) == tags
    assert "new" not in tags


def test_only_the_tags_missing_the_image_are_pushed(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    first = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "abc1234")
    assert first.returncode == 0, first.stderr
    gate = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "abc1234", "--tag", "v1")
    assert gate.returncode == 0, gate.stderr
    assert f"pushed {image.id} as v1; already there as abc1234" in gate.reason
    assert gate.stdout == first.stdout
    digest = first.digest
    assert sorted(registry.tags(repo_path)) == sorted(["abc1234", "v1", oci.fallback_tag(digest)])
    assert {registry.manifest(repo_path, t)[0] for t in ("abc1234", "v1")} == {digest}
    # The same envelope again: the .att tag still holds it once.
    assert len(oci.fetch_attestations(Repository(registry.host, repo_path), digest)) == 1


def test_an_unreadable_registry_is_refused_before_pushing(
    gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    image, _ = gate_images
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{host}/app", "--tag", "t",
    )  # fmt: skip
    assert gate.returncode == 1
    assert gate.reason.startswith(
        f"conformance-gate: refused: cannot tell what {host}/app:t holds now: cannot reach {host}"
    )


def test_an_attestation_the_registry_does_not_take_is_exit_3_after_the_push(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    keys: Keys,
    repo_path: str,
    tmp_path: Path,
) -> None:
    """The image's .att tag is taken by an artifact about another manifest (another
    client's doing): the push succeeds, storing the attestation cannot."""
    image, other = gate_images
    repository = Repository(registry.host, repo_path)
    digest = docker_push(docker_client, registry, repo_path, image, "before")
    other_digest = docker_push(docker_client, registry, repo_path, other, "other")
    oci.attach(repository, other_digest, keys.sign(make_report(other.id)))
    artifact, media_type = registry.raw_manifest(repo_path, oci.fallback_tag(other_digest))
    registry.put_manifest(repo_path, oci.fallback_tag(digest), artifact, media_type)

    gate = _gate_push(registry, image, repo_path, tmp_path, keys, "--tag", "t")

    assert gate.returncode == 3, gate.stderr
    assert gate.reason.startswith(
        f"conformance-gate: push failed: {image.id} was pushed ({repository.name}@{digest}) "
        "but its attestation was not stored: "
    )
    assert f"is about {other_digest}, not {digest}" in gate.reason
    assert gate.stdout == ""
    assert registry.manifest(repo_path, "t")[0] == digest
