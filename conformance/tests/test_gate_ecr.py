"""The gate's ECR login path, without AWS.

moto's server plays the ECR API on loopback and boto3 (the real client) is
pointed at it with AWS_ENDPOINT_URL_ECR. A local registry that accepts only
the credentials moto's token decodes to plays the ECR registry, so a push
that lands there proves the token reached Docker.
"""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.gate import oci
from conformance.gate.ecr import ecr_resolve, ecr_tag_immutable
from conformance.gate.errors import Refused
from conformance.gate.oci import DOCKER_MANIFEST
from conformance.gate.registry import EcrRegistry, Repository, ecr_auth_config, ecr_registry
from conformance.tests import prereq
from conformance.tests.registry import (
    ECR_ACCOUNT,
    ECR_LOGIN,
    GateImage,
    Keys,
    LocalRegistry,
    docker_client,
    docker_push,
    ecr_like_registry,
    gate_images,
    keys,
)
from conformance.tests.test_gate_registry import GateRun, attested, run_gate

# boto3 and moto come with tox -e gate (an error there if missing); elsewhere a skip.
prereq.module("boto3", "pip install boto3 (tox -e gate installs it)", "gate")
prereq.module("moto.server", "pip install 'moto[server]' (tox -e gate installs it)", "gate")
pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "ecr_like_registry", "gate_images", "keys"]  # fixtures used by name

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep boto3 away from the machine's own AWS files and the metadata service.
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_ecr() -> Iterator[str]:
    """moto's HTTP server on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_ecr: str) -> dict[str, str]:
    env = {**FAKE_AWS, "AWS_ENDPOINT_URL_ECR": moto_ecr}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", ("123456789012", "us-east-1")),
        (
            "210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            ("210987654321", "us-gov-west-1"),
        ),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ("123456789012", "cn-north-1")),
        ("public.ecr.aws", None),
        ("ghcr.io", None),
        ("127.0.0.1:5000", None),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", None),
        ("12345.dkr.ecr.us-east-1.amazonaws.com", None),
    ],
)
def test_ecr_hosts_are_recognised(host: str, expected: tuple[str, str] | None) -> None:
    assert ecr_registry(host) == (EcrRegistry(*expected) if expected else None)


def test_the_token_call_yields_a_docker_login(aws_env: dict[str, str]) -> None:
    auth = ecr_auth_config(EcrRegistry(ECR_ACCOUNT, "us-east-1"))
    assert (auth["username"], auth["password"]) == ECR_LOGIN


def test_an_unreachable_ecr_api_is_a_one_line_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(Refused, match=f"ECR login for account {ECR_ACCOUNT} failed"):
        ecr_auth_config(EcrRegistry(ECR_ACCOUNT, "us-east-1"))


def test_missing_aws_credentials_are_a_one_line_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.setenv(name, FAKE_AWS[name])
    # Even if credentials were found, nothing would leave the machine.
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(Refused, match="Unable to locate credentials"):
        ecr_auth_config(EcrRegistry(ECR_ACCOUNT, "us-east-1"))


def test_ecr_login_pushes_with_the_token(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    aws_env: dict[str, str],
    keys: Keys,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    repo_path = f"gate-tests/ecr-{uuid.uuid4().hex[:8]}"
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{ecr_like_registry.host}/{repo_path}", "--tag", "abc1234",
        "--login", "ecr", "--ecr-registry-id", ECR_ACCOUNT, "--ecr-region", "us-east-1",
        env=aws_env,
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr
    digest = gate.digest
    assert sorted(ecr_like_registry.tags(repo_path)) == sorted(
        ["abc1234", oci.fallback_tag(digest)]
    )
    assert ecr_like_registry.manifest(repo_path, "abc1234")[0] == digest
    # The attestation went in with the same token.
    repository = Repository(ecr_like_registry.host, repo_path)
    login = dict(zip(("username", "password"), ECR_LOGIN, strict=True))
    assert len(oci.fetch_attestations(repository, digest, login)) == 1


def test_without_the_token_the_registry_turns_the_gate_away(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    aws_env: dict[str, str],
    keys: Keys,
    tmp_path: Path,
) -> None:
    """Control for the test above: Docker's own (absent) login is not enough. The
    registry already refuses the gate's look-up of the tag, so nothing is pushed."""
    image, _ = gate_images
    repo_path = f"gate-tests/ecr-{uuid.uuid4().hex[:8]}"
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{ecr_like_registry.host}/{repo_path}", "--tag", "t",
        "--login", "docker", env={**aws_env, "DOCKER_CONFIG": str(tmp_path / "no-docker-config")},
    )  # fmt: skip
    assert gate.returncode == 1
    assert gate.reason.startswith(
        f"conformance-gate: refused: cannot tell what {ecr_like_registry.host}/{repo_path}:t "
        f"holds now: {ecr_like_registry.host} refused reading"
    )
    assert "HTTP 401" in gate.reason
    assert repo_path not in ecr_like_registry.catalog()


def test_an_ecr_host_triggers_the_login_before_anything_is_pushed(
    gate_images: tuple[GateImage, GateImage], keys: Keys, tmp_path: Path
) -> None:
    """auto login on a real ECR host name; the ECR API is a closed local port."""
    image, _ = gate_images
    env = {**FAKE_AWS, "AWS_ENDPOINT_URL_ECR": f"http://127.0.0.1:{_closed_port()}"}
    env["AWS_MAX_ATTEMPTS"] = "1"
    gate = run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{ECR_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/ai-video-backend",
        "--tag", "t", env=env,
    )  # fmt: skip
    assert gate.returncode == 1
    assert f"refused: ECR login for account {ECR_ACCOUNT} failed" in gate.reason


# --- what a tag holds, asked through the ECR API --------------------------------------

REGION = "us-east-1"
ECR = EcrRegistry(ECR_ACCOUNT, REGION)


@pytest.fixture
def ecr_api(aws_env: dict[str, str]) -> Any:
    """boto3's ECR client on moto's server, to set up repositories as a test needs them."""
    import boto3

    return boto3.session.Session().client("ecr", region_name=REGION)


def _ecr_repository(ecr_api: Any, mutability: str, **settings: Any) -> str:
    path = f"gate-tests/ecr-{uuid.uuid4().hex[:8]}"
    ecr_api.create_repository(repositoryName=path, imageTagMutability=mutability, **settings)
    return path


def _put_image(ecr_api: Any, path: str, tag: str, config_digest: str) -> str:
    """Store a manifest of image ``config_digest`` under ``tag`` as a push would; its digest."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 400,
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 120,
                    "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest(),
                }
            ],
        }
    )
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    ecr_api.put_image(
        repositoryName=path,
        imageManifest=manifest,
        imageManifestMediaType=DOCKER_MANIFEST,
        imageTag=tag,
        imageDigest=digest,
    )
    return digest


def test_the_ecr_api_tells_what_a_tag_holds(
    ecr_api: Any, gate_images: tuple[GateImage, GateImage]
) -> None:
    image, _ = gate_images
    path = _ecr_repository(ecr_api, "IMMUTABLE")
    digest = _put_image(ecr_api, path, "v1", image.id)
    repository = Repository("host.example", path)

    found = ecr_resolve(ECR, repository, "v1")

    assert found is not None
    assert (found.manifest_digest, found.config_digest) == (digest, image.id)
    assert found.media_type == DOCKER_MANIFEST
    assert ecr_resolve(ECR, repository, "v2") is None
    assert ecr_resolve(ECR, Repository("host.example", "gate-tests/no-such-repo"), "v1") is None


@pytest.mark.parametrize(
    ("mutability", "filters", "immutable"),
    [
        ("IMMUTABLE", None, {"v1": True, "latest": True}),
        ("MUTABLE", None, {"v1": False, "latest": False}),
        ("IMMUTABLE_WITH_EXCLUSION", "latest*", {"v1": True, "latest": False}),
        ("MUTABLE_WITH_EXCLUSION", "v*", {"v1": True, "latest": False}),
    ],
)
def test_the_ecr_api_tells_which_tags_may_move(
    ecr_api: Any, mutability: str, filters: str | None, immutable: dict[str, bool]
) -> None:
    settings = {}
    if filters:
        settings["imageTagMutabilityExclusionFilters"] = [
            {"filterType": "WILDCARD", "filter": filters}
        ]
    repository = Repository("host.example", _ecr_repository(ecr_api, mutability, **settings))
    assert {tag: ecr_tag_immutable(ECR, repository, tag) for tag in immutable} == immutable


def test_an_absent_ecr_repository_has_no_immutable_tags(aws_env: dict[str, str]) -> None:
    assert not ecr_tag_immutable(ECR, Repository("host.example", "gate-tests/none"), "v1")


def _ecr_gate(
    registry: LocalRegistry,
    path: str,
    image: GateImage,
    tmp_path: Path,
    aws_env: dict[str, str],
    keys: Keys,
    *args: str,
) -> GateRun:
    """The gate with ECR login and look-ups (moto); the registry plays ECR's v2 endpoint."""
    return run_gate(
        "--image", image.ref, *attested(tmp_path, keys, image),
        "--repository", f"{registry.host}/{path}", "--tag", "v1",
        "--login", "ecr", "--ecr-registry-id", ECR_ACCOUNT, "--ecr-region", REGION,
        *args, env=aws_env,
    )  # fmt: skip


def test_an_ecr_tag_holding_the_image_is_left_alone(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    aws_env: dict[str, str],
    ecr_api: Any,
    keys: Keys,
    tmp_path: Path,
) -> None:
    """An immutable tag would refuse a re-push: the gate must not try one. It adds the
    attestation once; a re-run then writes nothing at all."""
    image, _ = gate_images
    path = _ecr_repository(ecr_api, "IMMUTABLE")
    # The same manifest in both halves of "ECR": its API (moto) and its registry.
    digest = docker_push(docker_client, ecr_like_registry, path, image, "v1")
    manifest, media_type = ecr_like_registry.raw_manifest(path, "v1")
    ecr_api.put_image(
        repositoryName=path,
        imageManifest=manifest.decode(),
        imageManifestMediaType=media_type,
        imageTag="v1",
        imageDigest=digest,
    )

    gate = _ecr_gate(ecr_like_registry, path, image, tmp_path, aws_env, keys)

    assert gate.returncode == 0, gate.stderr
    assert gate.stdout.strip() == f"{ecr_like_registry.host}/{path}@{digest}"
    assert f"{image.id} is already there as v1: nothing pushed" in gate.reason
    assert gate.reason.endswith(f"the suite's attestation stored (tag {oci.fallback_tag(digest)})")
    assert sorted(ecr_like_registry.tags(path)) == sorted(["v1", oci.fallback_tag(digest)])
    assert ecr_like_registry.manifest(path, "v1")[0] == digest
    before = ecr_like_registry.storage_state()

    again = _ecr_gate(ecr_like_registry, path, image, tmp_path, aws_env, keys)

    assert again.returncode == 0, again.stderr
    assert again.stdout == gate.stdout
    assert again.reason.endswith("its attestation is already stored: nothing attached")
    assert ecr_like_registry.storage_state() == before


def test_an_immutable_ecr_tag_is_never_moved(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    aws_env: dict[str, str],
    ecr_api: Any,
    keys: Keys,
    tmp_path: Path,
) -> None:
    image, other = gate_images
    path = _ecr_repository(ecr_api, "IMMUTABLE")
    digest = _put_image(ecr_api, path, "v1", other.id)
    target = f"{ecr_like_registry.host}/{path}:v1"

    refused = _ecr_gate(ecr_like_registry, path, image, tmp_path, aws_env, keys)
    assert refused.returncode == 1, refused.stderr
    assert refused.reason == (
        f"conformance-gate: refused: {target} already holds image {other.id} ({digest}), "
        f"not {image.id}: pass --replace-tag to move it"
    )

    replace = _ecr_gate(ecr_like_registry, path, image, tmp_path, aws_env, keys, "--replace-tag")
    assert replace.returncode == 1, replace.stderr
    assert replace.reason == (
        f"conformance-gate: refused: {target} is an immutable ECR tag: it holds image "
        f"{other.id} ({digest}) and cannot be moved to {image.id}"
    )
    assert path not in ecr_like_registry.catalog()


def test_a_mutable_ecr_tag_is_moved_only_when_asked(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    aws_env: dict[str, str],
    ecr_api: Any,
    keys: Keys,
    tmp_path: Path,
) -> None:
    image, other = gate_images
    path = _ecr_repository(ecr_api, "MUTABLE")
    _put_image(ecr_api, path, "v1", other.id)

    refused = _ecr_gate(ecr_like_registry, path, image, tmp_path, aws_env, keys)
    assert refused.returncode == 1
    assert "pass --replace-tag to move it" in refused.reason
    assert path not in ecr_like_registry.catalog()

    replaced = _ecr_gate(ecr_like_registry, path, image, tmp_path, aws_env, keys, "--replace-tag")
    assert replaced.returncode == 0, replaced.stderr
    digest, manifest = ecr_like_registry.manifest(path, "v1")
    assert manifest["config"]["digest"] == image.id
    assert sorted(ecr_like_registry.tags(path)) == sorted(["v1", oci.fallback_tag(digest)])
