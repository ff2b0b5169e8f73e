"""conformance/gate/oci.py against a real registry: resolve, attach, fetch, log in.

Debian's docker-registry (distribution 2.8) has no referrers API, so attestations
land under the fallback tag ``sha256-<hex>.att`` here; the choice itself is
tested in test_oci.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import docker
import httpx
import pytest

from conformance.attestation import keygen, load_signer, make_statement, sign
from conformance.gate import oci
from conformance.gate.registry import Repository
from conformance.tests.registry import (
    ECR_LOGIN,
    GateImage,
    LocalRegistry,
    docker_client,
    docker_push,
    ecr_like_registry,
    gate_images,
    make_report,
    registry,
)

pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "ecr_like_registry", "gate_images", "registry"]  # fixtures


@pytest.fixture
def repo_path() -> str:
    return f"gate-tests/oci-{uuid.uuid4().hex[:8]}"


def envelope(tmp_path: Path, image_id: str, name: str = "key") -> bytes:
    """A DSSE envelope the suite would write for a green report about ``image_id``."""
    private, _ = keygen(tmp_path / name)
    signer = load_signer(private, {})
    assert signer is not None
    return sign(make_statement(make_report(image_id)), signer)


def test_a_tag_and_its_digest_resolve_to_the_image(
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
) -> None:
    image, _ = gate_images
    digest = docker_push(docker_client, registry, repo_path, image, "v1")
    repository = Repository(registry.host, repo_path)

    by_tag = oci.resolve(repository, "v1")
    by_digest = oci.resolve(repository, digest)

    assert by_tag == by_digest
    assert (by_tag.manifest_digest, by_tag.config_digest) == (digest, image.id)
    assert by_tag.reference == f"{registry.host}/{repo_path}@{digest}"
    with pytest.raises(oci.NotFound, match=f"{repo_path}:v2 is not in the registry"):
        oci.resolve(repository, "v2")
    with pytest.raises(oci.NotFound):
        oci.resolve(repository, "sha256:" + "0" * 64)
    with pytest.raises(oci.NotFound):
        oci.resolve(Repository(registry.host, "gate-tests/never-pushed"), "v1")


def test_a_multi_platform_index_is_refused(
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
) -> None:
    image, _ = gate_images
    docker_push(docker_client, registry, repo_path, image, "amd64")
    repository = Repository(registry.host, repo_path)
    single = oci.resolve(repository, "amd64")
    index = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_INDEX,
        "manifests": [
            {
                **single.descriptor(),
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    put = httpx.put(
        f"{registry.url}/v2/{repo_path}/manifests/multi",
        content=json.dumps(index).encode(),
        headers={"Content-Type": oci.OCI_INDEX},
    )
    assert put.status_code == 201, put.text

    with pytest.raises(oci.RegistryError, match="is a multi-platform index of 1 manifests"):
        oci.resolve(repository, "multi")
    index_digest = put.headers["Docker-Content-Digest"]
    with pytest.raises(oci.RegistryError, match="multi-platform index"):
        oci.attach(repository, index_digest, b"{}")


def test_attestations_are_stored_beside_the_image_and_fetched_back(
    registry: LocalRegistry,
    docker_client: docker.DockerClient,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    digest = docker_push(docker_client, registry, repo_path, image, "v1")
    repository = Repository(registry.host, repo_path)
    first = envelope(tmp_path, image.id, "first")
    second = envelope(tmp_path, image.id, "second")
    assert oci.fetch_attestations(repository, digest) == []

    how = oci.attach(repository, digest, first)

    tag = f"sha256-{digest.removeprefix('sha256:')}.att"
    assert how == f"tag {tag}"
    assert sorted(registry.tags(repo_path)) == sorted(["v1", tag])
    _, manifest = registry.manifest(repo_path, tag)
    assert manifest["artifactType"] == oci.DSSE_MEDIA_TYPE
    assert manifest["subject"]["digest"] == digest
    assert manifest["subject"]["mediaType"] == oci.DOCKER_MANIFEST
    assert [layer["mediaType"] for layer in manifest["layers"]] == [oci.DSSE_MEDIA_TYPE]
    assert oci.fetch_attestations(repository, digest) == [first]

    # A second attestation joins the first; the same one again changes nothing.
    assert oci.attach(repository, digest, second) == f"tag {tag}"
    assert oci.attach(repository, digest, second) == f"tag {tag}"
    assert oci.fetch_attestations(repository, digest) == [first, second]
    # The image itself is untouched.
    assert registry.manifest(repo_path, "v1")[0] == digest


def test_attaching_to_a_manifest_that_is_not_there_is_refused(
    registry: LocalRegistry, repo_path: str
) -> None:
    with pytest.raises(oci.NotFound, match="is not in the registry"):
        oci.attach(Repository(registry.host, repo_path), "sha256:" + "1" * 64, b"{}")
    assert repo_path not in registry.catalog()


def _docker_config(directory: Path, host: str, user: str, password: str) -> Path:
    directory.mkdir()
    login = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": login}}}))
    return directory


def test_the_login_is_the_given_one_or_dockers(
    ecr_like_registry: LocalRegistry,
    docker_client: docker.DockerClient,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registry behind htpasswd: the push's auth_config, else Docker's config.json."""
    image, _ = gate_images
    digest = docker_push(docker_client, ecr_like_registry, repo_path, image, "v1")
    repository = Repository(ecr_like_registry.host, repo_path)
    user, password = ECR_LOGIN
    given = {"username": user, "password": password}
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))

    assert oci.resolve(repository, "v1", given).manifest_digest == digest
    assert oci.attach(repository, digest, b'{"a": 1}', given).startswith("tag ")
    assert oci.fetch_attestations(repository, digest, given) == [b'{"a": 1}']
    with pytest.raises(oci.RegistryError, match=r"refused reading .*HTTP 401 UNAUTHORIZED"):
        oci.resolve(repository, "v1")
    with pytest.raises(oci.RegistryError, match="HTTP 401"):
        oci.resolve(repository, "v1", {"username": user, "password": "wrong"})

    config = _docker_config(tmp_path / "docker", ecr_like_registry.host, user, password)
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    assert oci.resolve(repository, "v1").manifest_digest == digest
    assert oci.fetch_attestations(repository, digest) == [b'{"a": 1}']


def test_an_unreachable_registry_is_one_line(repo_path: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(oci.RegistryError, match=f"^cannot reach {host}: "):
        oci.resolve(Repository(host, repo_path), "v1")
