"""Registry-protocol logic of conformance/gate/oci.py that no local registry exercises.

Debian's docker-registry (distribution 2.8) has no referrers API and no token
service, so the choice between referrers and the fallback tag is tested on
answers shaped like the OCI distribution spec's, and the bearer-token exchange
on a recorded challenge and token answer. Everything else in oci.py runs
against the real registry in test_gate_oci.py.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from conformance.gate import oci
from conformance.gate.oci import Answer, fallback_tag, indexed_by_referrers, parse_manifest

SUBJECT = "sha256:" + "a" * 64
ARTIFACT = "sha256:" + "b" * 64
OTHER = "sha256:" + "c" * 64


def _listing(status: int, *digests: str) -> Answer:
    index = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_INDEX,
        "manifests": [
            {
                "mediaType": oci.OCI_MANIFEST,
                "digest": d,
                "size": 1,
                "artifactType": oci.DSSE_MEDIA_TYPE,
            }
            for d in digests
        ],
    }
    return Answer(status, {"Content-Type": oci.OCI_INDEX}, json.dumps(index).encode())


@pytest.mark.parametrize(
    ("headers", "listing", "expected"),
    [
        # The registry says it indexed the subject (distribution spec 1.1, OCI-Subject).
        ({"OCI-Subject": SUBJECT}, None, True),
        # A header about another subject is no such statement.
        ({"OCI-Subject": OTHER}, Answer(404, {}, b""), False),
        # No header, but the referrers listing names the artifact.
        ({}, _listing(200, OTHER, ARTIFACT), True),
        # A referrers API that does not (yet) list it: keep the tag as well.
        ({}, _listing(200, OTHER), False),
        # distribution 2.8 and most registries without the API: 404.
        ({}, Answer(404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}'), False),
        ({}, Answer(200, {}, b"not json"), False),
        ({}, None, False),
    ],
)
def test_referrers_or_the_fallback_tag(
    headers: dict[str, str], listing: Answer | None, expected: bool
) -> None:
    assert indexed_by_referrers(headers, SUBJECT, ARTIFACT, listing) is expected


def test_the_fallback_tag_is_cosigns() -> None:
    assert fallback_tag(SUBJECT) == f"sha256-{'a' * 64}.att"


def _manifest(**fields: object) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def test_an_index_is_refused_in_one_line() -> None:
    index = _manifest(mediaType=oci.OCI_INDEX, manifests=[{}, {}])
    with pytest.raises(oci.RegistryError, match="is a multi-platform index of 2 manifests"):
        parse_manifest(index, None, "reg.example/app:v1")
    # A Docker manifest list, told only by the Content-Type.
    with pytest.raises(oci.RegistryError, match="multi-platform index"):
        parse_manifest(_manifest(manifests=[]), oci.DOCKER_LIST, "reg.example/app:v1")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"[1]", "not a JSON manifest"),
        (b"{", "not a JSON manifest"),
        (_manifest(mediaType="application/vnd.example+json"), "not an image"),
        (_manifest(mediaType=oci.OCI_MANIFEST, config={"digest": "md5:x"}), "no sha256 config"),
    ],
)
def test_what_is_not_one_image_manifest_is_refused(content: bytes, reason: str) -> None:
    with pytest.raises(oci.RegistryError, match=reason):
        parse_manifest(content, None, "reg.example/app:v1")


def test_a_bearer_challenge_is_answered_with_a_token() -> None:
    """The token dance as Docker Hub, GHCR and Harbor answer it (recorded shapes)."""
    seen: list[httpx.Request] = []

    def registry(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.example":
            assert request.url.params["service"] == "reg.example"
            assert request.url.params["scope"] == "repository:app:pull"
            assert (
                request.headers["Authorization"]
                == "Basic " + base64.b64encode(b"user:secret").decode()
            )
            return httpx.Response(200, json={"token": "T0KEN"})
        if request.headers.get("Authorization") != "Bearer T0KEN":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://auth.example/token",'
                    'service="reg.example",scope="repository:app:pull"'
                },
            )
        return httpx.Response(200, text="ok")

    auth = oci._ChallengeAuth({"username": "user", "password": "secret"})
    with httpx.Client(transport=httpx.MockTransport(registry), auth=auth) as client:
        assert client.get("https://reg.example/v2/app/manifests/v1").text == "ok"
        # The token is kept: the next request needs no new challenge.
        assert client.get("https://reg.example/v2/app/manifests/v2").text == "ok"
    hosts = [request.url.host for request in seen]
    assert hosts == ["reg.example", "auth.example", "reg.example", "reg.example"]


def test_without_credentials_a_basic_challenge_stays_a_401() -> None:
    def registry(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    auth = oci._ChallengeAuth({})
    with httpx.Client(transport=httpx.MockTransport(registry), auth=auth) as client:
        assert client.get("https://reg.example/v2/").status_code == 401
