"""A real Docker registry on loopback for the gate tests (stands in for ECR).

Debian's ``docker-registry`` (CNCF distribution, the same v2 API as ECR) runs as
a child process with its storage in a temporary directory, optionally behind
htpasswd basic auth, and is stopped when the fixture ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import pytest
from securesystemslib.signer import Signer

from conformance.attestation import keygen, load_signer, make_statement, sign
from conformance.catalogue import CHECKS
from conformance.schema import SCHEMA_VERSION, summarize

BINARY = "docker-registry"
INSTALL_HINT = "apt-get install -y docker-registry"
_READY_TIMEOUT_S = 15.0
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


class RegistryError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRegistry:
    """One ``docker-registry serve`` process on 127.0.0.1:<free port>."""

    def __init__(self, workdir: Path, htpasswd: str | None = None) -> None:
        self.workdir = workdir
        self.htpasswd = htpasswd
        self.port = 0
        self.auth: tuple[str, str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log = workdir / "registry.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _config(self) -> Path:
        storage = self.workdir / "storage"
        storage.mkdir(exist_ok=True)
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            # A fixed secret silences the "generated random secret" warning.
            "  secret: conformance-gate-tests",
        ]
        if self.htpasswd:
            htpasswd_file = self.workdir / "htpasswd"
            htpasswd_file.write_text(self.htpasswd + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: gate-tests", f"    path: {htpasswd_file}"]
        config = self.workdir / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> None:
        binary = shutil.which(BINARY)
        if binary is None:
            raise RegistryError(f"{BINARY} is not installed: {INSTALL_HINT}")
        # A port picked free can be taken before the registry binds it: retry.
        for _ in range(3):
            self.port = _free_port()
            with self._log.open("wb") as log:
                self._process = subprocess.Popen(
                    [binary, "serve", str(self._config())], stdout=log, stderr=subprocess.STDOUT
                )
            if self._wait_ready():
                return
            self.stop()
        raise RegistryError(f"{BINARY} did not start: {self.log_tail()}")

    def _wait_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                # 401 counts: an htpasswd registry answers /v2/ only with credentials.
                if httpx.get(f"{self.url}/v2/", timeout=1).status_code in (200, 401):
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        return False

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self._log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.get(f"{self.url}{path}", auth=self.auth, timeout=10, **kwargs)
        return response

    def catalog(self) -> list[str]:
        """Every repository the registry holds: the proof of what was (not) pushed."""
        response = self._get("/v2/_catalog")
        response.raise_for_status()
        return list(response.json().get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        response = self._get(f"/v2/{repository}/tags/list")
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json().get("tags") or [])

    def storage_state(self) -> dict[str, tuple[int, int]]:
        """Every file and directory of the registry's storage with its mtime and size.

        Any upload, manifest or tag write touches at least one of them (distribution
        rewrites a tag's link file even with the same content), so an unchanged state
        shows that nothing was written.
        """
        root = self.workdir / "storage"
        return {
            str(path.relative_to(root)): (path.stat().st_mtime_ns, path.stat().st_size)
            for path in root.rglob("*")
        }

    def raw_manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The manifest's bytes as stored, and its media type."""
        response = self._get(
            f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES}
        )
        response.raise_for_status()
        return response.content, response.headers["Content-Type"]

    def put_manifest(
        self, repository: str, reference: str, content: bytes, media_type: str
    ) -> None:
        """Store a manifest under a tag, as a client other than the gate might."""
        response = httpx.put(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            content=content,
            headers={"Content-Type": media_type},
            auth=self.auth,
            timeout=10,
        )
        response.raise_for_status()

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]]:
        """The manifest's digest as computed from its bytes, and its parsed body."""
        response = self._get(
            f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES}
        )
        response.raise_for_status()
        digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        if response.headers.get("Docker-Content-Digest") != digest:
            raise RegistryError(f"registry digest header disagrees with the manifest {digest}")
        return digest, json.loads(response.content)


# --- pytest fixtures: import them into a test module to use them --------------

# moto's ECR answers GetAuthorizationToken for account A with "AWS:<A>-auth-token";
# the registry that plays ECR accepts exactly that login (bcrypt, as distribution needs).
ECR_ACCOUNT = "123456789012"
ECR_HTPASSWD = "AWS:$2b$04$8C8cgPSUGDLmauACMjl2oOkEzicPL0s5jJsmRT6ahLw8lM.H1HI72"
ECR_LOGIN = ("AWS", f"{ECR_ACCOUNT}-auth-token")


def _started(workdir: Path, htpasswd: str | None = None) -> Iterator[LocalRegistry]:
    registry = LocalRegistry(workdir, htpasswd)
    try:
        registry.start()
    except RegistryError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """An open registry (no auth) for the module's tests."""
    yield from _started(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="module")
def ecr_like_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A registry that accepts only the ECR token moto hands out."""
    for registry in _started(tmp_path_factory.mktemp("ecr-registry"), ECR_HTPASSWD):
        registry.auth = ECR_LOGIN
        yield registry


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"the gate tests need a Docker daemon: {exc}", pytrace=False)
    yield client
    client.close()


@dataclass(frozen=True)
class GateImage:
    ref: str
    id: str


LABEL = "org.example.conformance-gate-test"


def import_image(
    client: docker.DockerClient, ref: str, files: dict[str, bytes], changes: Sequence[str] = ()
) -> GateImage:
    """An image made with ``docker import`` from a few files: tiny, local, unique."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    repository, tag = ref.rsplit(":", 1)
    client.api.import_image_from_data(
        buffer.getvalue(), repository=repository, tag=tag, changes=[f"LABEL {LABEL}=1", *changes]
    )
    return GateImage(ref, str(client.images.get(ref).id))


def docker_push(
    client: docker.DockerClient,
    registry: LocalRegistry,
    repository: str,
    image: GateImage,
    tag: str,
) -> str:
    """Push ``image`` as REGISTRY/repository:tag with Docker itself; the manifest digest."""
    target = f"{registry.host}/{repository}"
    auth = None
    if registry.auth:
        auth = {"username": registry.auth[0], "password": registry.auth[1]}
    client.api.tag(image.id, target, tag)
    try:
        for line in client.api.push(target, tag=tag, stream=True, decode=True, auth_config=auth):
            if "error" in line:
                raise RegistryError(f"docker push {target}:{tag}: {line['error']}")
    finally:
        client.api.remove_image(f"{target}:{tag}", noprune=True)
    return registry.manifest(repository, tag)[0]


def remove_images(client: docker.DockerClient, images: Iterable[GateImage]) -> None:
    for image in images:
        # force: pulled-back tags (127.0.0.1:PORT/...) point at the same ID.
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(image.id, force=True)


@pytest.fixture(scope="module")
def gate_images(docker_client: docker.DockerClient) -> Iterator[tuple[GateImage, GateImage]]:
    """Two distinct images: the one under test and "another image"."""
    run = uuid.uuid4().hex[:10]
    first, second = (
        import_image(
            docker_client,
            f"conformance-gate-test:{run}-{name}",
            {"gate-test.txt": f"{run} {name}".encode()},
        )
        for name in ("a", "b")
    )
    yield first, second
    remove_images(docker_client, (first, second))


def make_report(
    image_id: str,
    statuses: dict[str, str] | None = None,
    waivers: dict[str, str] | None = None,
    complete: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """A report in the suite's schema about ``image_id``.

    Every catalogue ID passes unless ``statuses`` says otherwise; with
    ``complete=False`` the report lists only ``statuses``. ``overrides`` replace
    top-level fields.
    """
    given = statuses or {}
    everything = {} if not complete else dict.fromkeys(CHECKS, "passed")
    statuses = everything | given
    checks = [
        {
            "id": check_id,
            "title": check_id,
            "status": status,
            "measured": None,
            "threshold": None,
            "message": None if status == "passed" else f"{check_id} is {status}",
            "duration_s": 0.01,
        }
        for check_id, status in statuses.items()
    ]
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "ai-video-conformance", "version": "0.1.0"},
        "catalogue": list(CHECKS),
        "image": {"ref": "under-test", "id": image_id, "repo_digests": []},
        "profile": {"path": None, "digest": "0" * 64, "values": {}, "waivers": waivers or {}},
        "deviations": [],
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:00:01+00:00",
        "duration_s": 1.0,
        "summary": summarize(str(c["status"]) for c in checks),
        "green": all(c["status"] == "passed" for c in checks),
        "checks": checks,
    }
    report.update(overrides)
    return report


@dataclass(frozen=True)
class Keys:
    """A signing key pair as ``python -m conformance.attestation keygen`` writes it."""

    private: Path
    public: Path

    @property
    def signer(self) -> Signer:
        signer = load_signer(self.private, {})
        assert signer is not None
        return signer

    def sign(self, report: dict[str, Any]) -> bytes:
        return make_attestation(report, self.signer)


def make_attestation(report: dict[str, Any], signer: Signer) -> bytes:
    """The DSSE envelope the suite writes for ``report`` (--conformance-attestation)."""
    return sign(make_statement(report), signer)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """The releaser's key pair: the suite signs with it, the gate verifies with it."""
    return Keys(*keygen(tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """Somebody else's key pair."""
    return Keys(*keygen(tmp_path_factory.mktemp("other-keys")))
