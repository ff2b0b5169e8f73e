"""The registry's own HTTP API (OCI distribution / Docker Registry v2), for what a
Docker push cannot do: read what a tag holds now, and store or fetch attestations
beside an image.

Attestations are OCI artifacts: an image manifest with ``artifactType`` DSSE, an
empty config, the envelope as its one layer, and ``subject`` naming the image
manifest. A registry with the referrers API indexes them by that subject; on
others they are also kept under the tag ``sha256-<hex>.att`` (cosign's
convention), one manifest whose layers are every envelope attached so far.

Credentials: the ``auth`` mapping Docker's push takes (``username``/``password``
or ``identitytoken``), else Docker's own configuration (``docker login``,
credential helpers). Basic and bearer-token challenges are both answered.
Loopback registries are spoken to over plain HTTP, as Docker does; others over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.gate.registry import Repository

DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)
# The OCI 1.1 "empty" config every artifact without a config of its own carries.
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"

Auth = Mapping[str, str] | None

_MANIFEST_LIMIT = 4 * 1024 * 1024  # what distribution itself accepts
_BLOB_LIMIT = 16 * 1024 * 1024  # an envelope carries one JSON report, far below this
_TIMEOUT_S = 30.0
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """The registry could not answer; the message is one line."""


class NotFound(RegistryError):
    """The tag, digest or repository is not in the registry."""


@dataclass(frozen=True)
class Resolved:
    """What a tag or digest names in the registry: one image manifest."""

    repository: Repository
    manifest_digest: str
    config_digest: str  # the image ID
    media_type: str
    size: int

    @property
    def reference(self) -> str:
        return f"{self.repository.name}@{self.manifest_digest}"

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.manifest_digest, "size": self.size}


def sha256_digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def is_digest(reference: str) -> bool:
    return bool(_DIGEST.match(reference))


def fallback_tag(subject_digest: str) -> str:
    """cosign's tag for a subject's attestations: ``sha256-<hex>.att``."""
    return subject_digest.replace(":", "-", 1) + ".att"


def parse_manifest(
    content: bytes, media_type: str | None, where: str
) -> tuple[str, dict[str, Any]]:
    """The media type and body of a single-image manifest; anything else is refused."""
    try:
        body = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RegistryError(f"{where} is not a JSON manifest") from None
    if not isinstance(body, dict):
        raise RegistryError(f"{where} is not a JSON manifest")
    declared = body.get("mediaType")
    kind = declared if isinstance(declared, str) and declared else (media_type or "")
    kind = kind.split(";", 1)[0].strip()
    if kind in INDEXES or "manifests" in body:
        count = len(body.get("manifests") or [])
        raise RegistryError(
            f"{where} is a multi-platform index of {count} manifests, not one image "
            "(name a single image by its manifest digest)"
        )
    if kind not in IMAGE_MANIFESTS:
        raise RegistryError(f"{where} has manifest type {kind or 'unknown'!r}, not an image")
    config = body.get("config")
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str) or not is_digest(digest):
        raise RegistryError(f"{where} names no sha256 config digest")
    return kind, body


# --- talking to the registry ---------------------------------------------------------


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _api_host(host: str) -> str:
    # docker.io is a name for Docker Hub's index; its registry API lives elsewhere.
    return "registry-1.docker.io" if host in ("docker.io", "index.docker.io") else host


def _credentials(host: str, auth: Auth) -> dict[str, str]:
    """The login for ``host``: the given auth, else what ``docker login`` stored."""
    if auth is None:
        import docker.auth
        import docker.errors

        try:
            found = docker.auth.load_config().resolve_authconfig(host)
        except (docker.errors.DockerException, OSError, ValueError) as exc:
            raise RegistryError(f"cannot read Docker's credentials for {host}: {exc}") from None
        auth = found or {}
    # Docker's config spells the keys both ways (Username, username).
    return {str(k).lower(): str(v) for k, v in auth.items() if v}


class _ChallengeAuth(httpx.Auth):
    """Answer the registry's 401 challenge: Basic, or Bearer via its token service."""

    def __init__(self, credentials: dict[str, str]) -> None:
        self._credentials = credentials
        self._header: str | None = None

    def _basic(self) -> str | None:
        user, password = self._credentials.get("username"), self._credentials.get("password")
        if not user or not password:
            return None
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._header:
            request.headers["Authorization"] = self._header
        response = yield request
        if response.status_code != 401:
            return
        scheme, _, params = response.headers.get("WWW-Authenticate", "").partition(" ")
        if scheme.lower() == "basic":
            header = self._basic()
        elif scheme.lower() == "bearer":
            token_response = yield self._token_request(dict(_CHALLENGE_PARAM.findall(params)))
            token_response.read()  # only this body: the others may be large, read bounded
            header = self._bearer(token_response)
        else:
            return
        if header is None:
            return  # no credentials: the 401 stands and the caller says so
        self._header = header
        request.headers["Authorization"] = header
        yield request

    def _token_request(self, challenge: dict[str, str]) -> httpx.Request:
        realm = challenge.get("realm")
        if not realm:
            raise RegistryError("the registry's bearer challenge names no token service")
        fields = {k: challenge[k] for k in ("service", "scope") if challenge.get(k)}
        identity = self._credentials.get("identitytoken")
        if identity:  # an OAuth refresh token from docker login
            form = {"grant_type": "refresh_token", "refresh_token": identity, **fields}
            return httpx.Request("POST", realm, data={"client_id": "conformance", **form})
        request = httpx.Request("GET", realm, params=fields)
        basic = self._basic()
        if basic:
            request.headers["Authorization"] = basic
        return request

    @staticmethod
    def _bearer(response: httpx.Response) -> str | None:
        if response.status_code in (401, 403):
            return None
        if response.status_code != 200:
            raise RegistryError(
                f"the registry's token service answered HTTP {response.status_code}"
            )
        try:
            answer = response.json()
        except ValueError:
            raise RegistryError("the registry's token service answered no JSON") from None
        token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError("the registry's token service answered no token")
        return f"Bearer {token}"


@dataclass(frozen=True)
class Answer:
    """A registry response read whole (and bounded)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class _Api:
    """One repository's endpoints, with its login."""

    def __init__(self, repository: Repository, auth: Auth) -> None:
        self.repository = repository
        host = _api_host(repository.host)
        scheme = "http" if _is_loopback(host) else "https"
        self.client = httpx.Client(
            base_url=f"{scheme}://{host}/v2/{repository.path}/",
            auth=_ChallengeAuth(_credentials(repository.host, auth)),
            timeout=_TIMEOUT_S,
            follow_redirects=True,  # blobs are often served from object storage
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self, method: str, url: str, what: str, limit: int = _MANIFEST_LIMIT, **kwargs: Any
    ) -> Answer:
        """Send, reading at most ``limit`` bytes: the registry is not trusted with memory."""
        try:
            request = self.client.build_request(method, url, **kwargs)
            response = self.client.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise RegistryError(f"{what}: the answer is larger than {limit} bytes")
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise RegistryError(f"cannot reach {self.repository.host}: {exc}") from None
        answer = Answer(response.status_code, response.headers, bytes(body))
        if answer.status_code in (401, 403):
            raise RegistryError(
                f"{self.repository.host} refused {what} (HTTP {answer.status_code}"
                f"{_error_text(answer)}): log in with docker login or pass credentials"
            )
        return answer


def _error_text(response: Answer) -> str:
    """The registry's own error code and message, if it sent one."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f" {first.get('code', '')}: {first.get('message', '')}".rstrip(": ")
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


@contextmanager
def _api(repository: Repository, auth: Auth) -> Iterator[_Api]:
    api = _Api(repository, auth)
    try:
        yield api
    finally:
        api.close()


# --- reading manifests and blobs ------------------------------------------------------

_ACCEPT = ", ".join((*IMAGE_MANIFESTS, *INDEXES))


def _get_manifest(api: _Api, reference: str) -> tuple[bytes, str | None, str]:
    """The manifest's bytes, content type and digest (computed, checked against the header)."""
    where = f"{api.repository.name}{'@' if is_digest(reference) else ':'}{reference}"
    response = api.request(
        "GET", f"manifests/{reference}", f"reading {where}", headers={"Accept": _ACCEPT}
    )
    if response.status_code == 404:
        raise NotFound(f"{where} is not in the registry")
    if response.status_code != 200:
        raise RegistryError(
            f"reading {where} failed: HTTP {response.status_code}{_error_text(response)}"
        )
    digest = sha256_digest(response.content)
    claimed = response.headers.get("Docker-Content-Digest")
    if is_digest(reference) and digest != reference:
        raise RegistryError(f"the registry answered {where} with a manifest of digest {digest}")
    if claimed and claimed.startswith("sha256:") and claimed != digest:
        raise RegistryError(f"the registry says {where} is {claimed} but its bytes are {digest}")
    return response.content, response.headers.get("Content-Type"), digest


def _resolve(api: _Api, reference: str) -> Resolved:
    content, content_type, digest = _get_manifest(api, reference)
    where = f"{api.repository.name}@{digest}"
    media_type, body = parse_manifest(content, content_type, where)
    return Resolved(api.repository, digest, body["config"]["digest"], media_type, len(content))


def resolve(repository: Repository, reference: str, auth: Auth = None) -> Resolved:
    """Tag or digest -> the image manifest's digest and its config digest (the image ID).

    Raises NotFound when the tag, digest or repository is absent, RegistryError for a
    multi-platform index or when the registry cannot be asked.
    """
    with _api(repository, auth) as api:
        return _resolve(api, reference)


def _get_blob(api: _Api, digest: str, what: str) -> bytes:
    response = api.request("GET", f"blobs/{digest}", f"reading {what}", _BLOB_LIMIT)
    if response.status_code == 404:
        raise NotFound(f"{what} ({digest}) is not in the registry")
    if response.status_code != 200:
        raise RegistryError(f"reading {what} failed: HTTP {response.status_code}")
    if sha256_digest(response.content) != digest:
        raise RegistryError(f"{what} does not match its digest {digest}")
    return response.content


# --- writing -----------------------------------------------------------------------------


def _put_blob(api: _Api, content: bytes, what: str) -> dict[str, Any]:
    """Upload a blob unless the repository has it; return its descriptor (no media type)."""
    digest = sha256_digest(content)
    head = api.request("HEAD", f"blobs/{digest}", f"reading {what}")
    if head.status_code != 200:
        start = api.request("POST", "blobs/uploads/", f"uploading {what}")
        location = start.headers.get("Location")
        if start.status_code != 202 or not location:
            raise RegistryError(f"uploading {what} failed: HTTP {start.status_code}")
        url = api.client.base_url.join(location).copy_merge_params({"digest": digest})
        done = api.request(
            "PUT",
            str(url),
            f"uploading {what}",
            content=content,
            headers={"Content-Type": "application/octet-stream"},
        )
        if done.status_code != 201:
            raise RegistryError(
                f"uploading {what} failed: HTTP {done.status_code}{_error_text(done)}"
            )
    return {"digest": digest, "size": len(content)}


def _put_manifest(api: _Api, reference: str, manifest: bytes, what: str) -> Answer:
    response = api.request(
        "PUT",
        f"manifests/{reference}",
        f"storing {what}",
        content=manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    if response.status_code != 201:
        raise RegistryError(
            f"storing {what} failed: HTTP {response.status_code}{_error_text(response)}"
        )
    return response


def _artifact(subject: Resolved, layers: list[dict[str, Any]]) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": DSSE_MEDIA_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": sha256_digest(EMPTY_BLOB), "size": 2},
        "layers": layers,
        "subject": subject.descriptor(),
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


def indexed_by_referrers(
    put_headers: Mapping[str, str],
    subject_digest: str,
    artifact_digest: str,
    referrers: Answer | None,
) -> bool:
    """Did the registry index the artifact under its subject (the referrers API)?

    The registry says so with an ``OCI-Subject`` header on the manifest PUT; failing
    that, a referrers listing that names the artifact shows it too. A 404 listing (or
    none) means no referrers API: the caller must fall back to the tag.
    """
    if put_headers.get("OCI-Subject") == subject_digest:
        return True
    if referrers is None or referrers.status_code != 200:
        return False
    try:
        index = referrers.json()
    except ValueError:
        return False
    manifests = index.get("manifests") if isinstance(index, dict) else None
    return isinstance(manifests, list) and any(
        isinstance(m, dict) and m.get("digest") == artifact_digest for m in manifests
    )


def _referrers(api: _Api, subject_digest: str) -> Answer:
    return api.request(
        "GET",
        f"referrers/{subject_digest}",
        "listing referrers",
        params={"artifactType": DSSE_MEDIA_TYPE},
        headers={"Accept": OCI_INDEX},
    )


def _tagged_layers(api: _Api, tag: str, subject_digest: str) -> list[dict[str, Any]]:
    """The envelope layers already under the fallback tag (none if the tag is absent)."""
    try:
        content, _, digest = _get_manifest(api, tag)
    except NotFound:
        return []
    try:
        body = json.loads(content)
    except ValueError:
        raise RegistryError(f"{api.repository.name}:{tag} is not a JSON manifest") from None
    subject = body.get("subject") if isinstance(body, dict) else None
    if isinstance(subject, dict) and subject.get("digest") != subject_digest:
        raise RegistryError(
            f"{api.repository.name}:{tag} ({digest}) is about {subject.get('digest')}, "
            f"not {subject_digest}"
        )
    layers = body.get("layers") if isinstance(body, dict) else None
    return [
        layer
        for layer in (layers if isinstance(layers, list) else [])
        if isinstance(layer, dict) and layer.get("mediaType") == DSSE_MEDIA_TYPE
    ]


def attach(repository: Repository, subject_digest: str, envelope: bytes, auth: Auth = None) -> str:
    """Store a DSSE envelope beside the image manifest ``subject_digest``.

    Returns how it was stored: ``"referrers"`` (the registry indexed it under its
    subject) or ``"tag sha256-<hex>.att"`` (no referrers API: kept under that tag
    too, beside the envelopes attached before). Raises RegistryError.
    """
    if not is_digest(subject_digest):
        raise RegistryError(f"{subject_digest!r} is not a sha256 manifest digest")
    with _api(repository, auth) as api:
        subject = _resolve(api, subject_digest)
        _put_blob(api, EMPTY_BLOB, "the empty artifact config")
        layer = {"mediaType": DSSE_MEDIA_TYPE, **_put_blob(api, envelope, "the attestation")}
        manifest = _artifact(subject, [layer])
        digest = sha256_digest(manifest)
        put = _put_manifest(api, digest, manifest, "the attestation manifest")
        listing = None if "OCI-Subject" in put.headers else _referrers(api, subject_digest)
        if indexed_by_referrers(put.headers, subject_digest, digest, listing):
            return "referrers"
        tag = fallback_tag(subject_digest)
        layers = _tagged_layers(api, tag, subject_digest)
        if all(existing.get("digest") != layer["digest"] for existing in layers):
            layers.append(layer)
            _put_manifest(api, tag, _artifact(subject, layers), f"{repository.name}:{tag}")
        return f"tag {tag}"


def _envelopes(api: _Api, manifest_digest: str, subject_digest: str) -> list[bytes]:
    content, _, _ = _get_manifest(api, manifest_digest)
    try:
        body = json.loads(content)
    except ValueError:
        raise RegistryError(f"the referrer {manifest_digest} is not a JSON manifest") from None
    subject = body.get("subject") if isinstance(body, dict) else None
    if not isinstance(subject, dict) or subject.get("digest") != subject_digest:
        return []  # the listing named a manifest that is not about this image
    return [
        _get_blob(api, layer["digest"], f"attestation {layer['digest']}")
        for layer in body.get("layers") or []
        if isinstance(layer, dict)
        and layer.get("mediaType") == DSSE_MEDIA_TYPE
        and is_digest(str(layer.get("digest")))
    ]


def fetch_attestations(
    repository: Repository, subject_digest: str, auth: Auth = None
) -> list[bytes]:
    """Every DSSE envelope stored for the manifest ``subject_digest``, found through
    the referrers API and under the fallback tag; each blob checked against its digest.

    Nothing about the envelopes is trusted here: the caller verifies signatures.
    """
    if not is_digest(subject_digest):
        raise RegistryError(f"{subject_digest!r} is not a sha256 manifest digest")
    found: dict[str, bytes] = {}
    with _api(repository, auth) as api:
        listing = _referrers(api, subject_digest)
        if listing.status_code == 200:
            try:
                manifests = listing.json().get("manifests") or []
            except (ValueError, AttributeError):
                raise RegistryError("the registry's referrers listing is not JSON") from None
            for entry in manifests:
                artifact_type = entry.get("artifactType") if isinstance(entry, dict) else None
                if artifact_type == DSSE_MEDIA_TYPE and is_digest(str(entry.get("digest"))):
                    for envelope in _envelopes(api, entry["digest"], subject_digest):
                        found.setdefault(sha256_digest(envelope), envelope)
        tag = fallback_tag(subject_digest)
        for layer in _tagged_layers(api, tag, subject_digest):
            digest = str(layer.get("digest"))
            if is_digest(digest) and digest not in found:
                found[digest] = _get_blob(api, digest, f"attestation {digest}")
    return list(found.values())
