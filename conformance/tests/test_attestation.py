"""The signed attestation: real keys, real signatures, no Docker."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, Key

from conformance import attestation as att
from conformance.attestation import AttestationError

IMAGE_HEX = "1" * 64
REPO_HEX = "2" * 64
PROFILE_HEX = "3" * 64


def a_report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "schema_version": 1,
        "tool": {"name": "ai-video-conformance", "version": "9.8.7"},
        "image": {"ref": "ai-video-backend:latest", "id": f"sha256:{IMAGE_HEX}"},
        "profile": {"digest": PROFILE_HEX},
        "deviations": ["runtime.port"],
        "green": True,
        "checks": [
            {"id": "RUN-STARTS", "status": "passed"},
            {"id": "SEC-USER", "status": "passed"},
            {"id": "LOG-CLEAN", "status": "waived"},
            {"id": "DEP-COMPOSE", "status": "excluded"},
            {"id": "FF-BIN", "status": "failed"},
            {"id": "FF-LIBS", "status": "error"},
            {"id": "RUN-LATENCY", "status": "blocked"},
            {"id": "BROWSER", "status": "skipped"},
        ],
        "note": "ünïcode survives",
    }
    report.update(changes)
    return report


def pem_files(signer: CryptoSigner, directory: Path, name: str) -> tuple[Path, Path]:
    """The key pair as PKCS#8 / SubjectPublicKeyInfo PEM files, as openssl writes them."""
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub"
    private.write_bytes(signer.private_bytes)
    public.write_bytes(
        load_pem_private_key(signer.private_bytes, password=None)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


@pytest.fixture(params=["ed25519", "ecdsa-p256"])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[att.Signer, Key]:
    """A signer and its public key, each loaded from PEM files through the module."""
    made = (
        CryptoSigner.generate_ed25519()
        if request.param == "ed25519"
        else CryptoSigner.generate_ecdsa()
    )
    private, public = pem_files(made, tmp_path, request.param)
    signer = att.load_signer(private, {})
    assert signer is not None
    return signer, att.load_public_key(public)


def one_line(excinfo: pytest.ExceptionInfo[AttestationError]) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def envelope_dict(envelope: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(envelope)
    return data


# --- the Statement --------------------------------------------------------------


def test_statement_subjects_are_the_image_and_its_repo_digests() -> None:
    statement = att.make_statement(
        a_report(), [f"127.0.0.1:5000/ai-video@sha256:{REPO_HEX}", f"other/repo@sha256:{REPO_HEX}"]
    )
    assert statement["_type"] == att.STATEMENT_TYPE
    assert statement["predicateType"] == att.PREDICATE_TYPE
    assert statement["subject"] == [
        {"name": "ai-video-backend:latest", "digest": {"sha256": IMAGE_HEX}},
        {"name": "127.0.0.1:5000/ai-video", "digest": {"sha256": REPO_HEX}},
        {"name": "other/repo", "digest": {"sha256": REPO_HEX}},
    ]
    assert att.subject_digests(statement) == {f"sha256:{IMAGE_HEX}", f"sha256:{REPO_HEX}"}


def test_predicate_sorts_checks_and_carries_the_report() -> None:
    report = a_report()
    predicate = att.make_statement(report)["predicate"]
    assert predicate["result"] == "PASSED"
    assert predicate["passedTests"] == ["RUN-STARTS", "SEC-USER"]
    assert predicate["warnedTests"] == ["LOG-CLEAN", "DEP-COMPOSE"]
    assert predicate["failedTests"] == ["FF-BIN", "FF-LIBS", "RUN-LATENCY", "BROWSER"]
    suite, profile, carried = predicate["configuration"]
    assert suite == {"name": "ai-video-conformance", "annotations": {"version": "9.8.7"}}
    assert profile == {
        "name": "profile",
        "digest": {"sha256": PROFILE_HEX},
        "annotations": {"deviations": ["runtime.port"]},
    }
    canonical = json.dumps(
        report, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert carried == {
        "name": "conformance-report.json",
        "mediaType": "application/json",
        "digest": {"sha256": hashlib.sha256(canonical).hexdigest()},
        "content": base64.b64encode(canonical).decode(),
    }
    assert att.embedded_report(att.make_statement(report)) == report


def test_a_report_that_is_not_green_fails_and_optional_fields_may_be_absent() -> None:
    report = a_report(green=False)
    del report["deviations"]
    report["profile"] = {"suite.profile": {"value": None, "source": "default"}}
    predicate = att.make_statement(report)["predicate"]
    assert predicate["result"] == "FAILED"
    assert predicate["configuration"][1] == {"name": "profile", "annotations": {"deviations": []}}


@pytest.mark.parametrize(
    ("report", "repo_digests", "expected"),
    [
        (a_report(image={"ref": "x", "id": "sha256:abc"}), (), "image.id is 'sha256:abc'"),
        (a_report(image={"ref": "x", "id": IMAGE_HEX}), (), "expected 'sha256:<64 hex digits>'"),
        (a_report(image={"id": f"sha256:{IMAGE_HEX}"}), (), "image.ref is missing"),
        (a_report(), [f"sha256:{REPO_HEX}"], "is not of the form 'repo@sha256:<hex>'"),
        (a_report(), ["repo@md5:abc"], "repo digest is 'md5:abc'"),
        (a_report(profile={"digest": "nope"}), (), "profile.digest is 'nope'"),
        (a_report(checks=[{"status": "passed"}]), (), "a check without an id"),
    ],
)
def test_make_statement_refuses_what_it_cannot_attest(
    report: dict[str, Any], repo_digests: list[str], expected: str
) -> None:
    with pytest.raises(AttestationError) as excinfo:
        att.make_statement(report, repo_digests)
    assert expected in one_line(excinfo)


# --- sign and verify ---------------------------------------------------------------


def test_sign_then_verify_gives_back_the_statement(keys: tuple[att.Signer, Key]) -> None:
    signer, public = keys
    report = a_report()
    statement = att.make_statement(report, [f"reg/app@sha256:{REPO_HEX}"])
    envelope = att.sign(statement, signer)
    data = envelope_dict(envelope)
    assert data["payloadType"] == att.PAYLOAD_TYPE
    assert [s["keyid"] for s in data["signatures"]] == [public.keyid]
    verified = att.verify(envelope, public)
    assert verified == statement
    assert att.embedded_report(verified) == report
    assert f"sha256:{IMAGE_HEX}" in att.subject_digests(verified)


def test_a_payload_edited_after_signing_is_refused(keys: tuple[att.Signer, Key]) -> None:
    signer, public = keys
    statement = att.make_statement(a_report(green=False))
    data = envelope_dict(att.sign(statement, signer))
    forged = copy.deepcopy(statement)
    forged["predicate"]["result"] = "PASSED"
    data["payload"] = base64.b64encode(json.dumps(forged).encode()).decode()
    with pytest.raises(AttestationError) as excinfo:
        att.verify(json.dumps(data).encode(), public)
    assert one_line(excinfo) == (
        "the attestation's signature does not match its content (edited after signing?)"
    )


def test_changed_signature_bytes_are_refused(keys: tuple[att.Signer, Key]) -> None:
    signer, public = keys
    data = envelope_dict(att.sign(att.make_statement(a_report()), signer))
    sig = bytearray(base64.b64decode(data["signatures"][0]["sig"]))
    sig[len(sig) // 2] ^= 0x01
    data["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(AttestationError) as excinfo:
        att.verify(json.dumps(data).encode(), public)
    assert "does not match its content (edited after signing?)" in one_line(excinfo)


def test_an_envelope_signed_by_another_key_is_refused(keys: tuple[att.Signer, Key]) -> None:
    _, public = keys
    stranger = CryptoSigner.generate_ed25519()
    envelope = att.sign(att.make_statement(a_report()), stranger)
    with pytest.raises(AttestationError) as excinfo:
        att.verify(envelope, public)
    message = one_line(excinfo)
    assert message.startswith("the attestation is signed by another key")
    assert stranger.public_key.keyid[:12] in message and public.keyid[:12] in message


def test_a_stranger_signature_under_our_keyid_is_refused(keys: tuple[att.Signer, Key]) -> None:
    _, public = keys
    stranger = CryptoSigner.generate_ed25519()
    data = envelope_dict(att.sign(att.make_statement(a_report()), stranger))
    data["signatures"][0]["keyid"] = public.keyid  # claims to be ours; the bytes say otherwise
    with pytest.raises(AttestationError) as excinfo:
        att.verify(json.dumps(data).encode(), public)
    assert "does not match its content" in one_line(excinfo)


def test_a_wrong_payload_type_is_refused_even_when_signed(keys: tuple[att.Signer, Key]) -> None:
    signer, public = keys
    envelope = Envelope(att.canonical_json(att.make_statement(a_report())), "text/plain", {})
    envelope.sign(signer)
    with pytest.raises(AttestationError) as excinfo:
        att.verify(json.dumps(envelope.to_dict()).encode(), public)
    assert one_line(excinfo) == (
        "the attestation's payloadType is 'text/plain', expected application/vnd.in-toto+json"
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("_type", "https://in-toto.io/Statement/v0.1", "the statement's _type is"),
        ("predicateType", "https://slsa.dev/provenance/v1", "the statement's predicateType is"),
        ("subject", [], "the statement names no subject"),
    ],
)
def test_a_signed_statement_of_the_wrong_kind_is_refused(
    keys: tuple[att.Signer, Key], field: str, value: Any, expected: str
) -> None:
    signer, public = keys
    statement = att.make_statement(a_report()) | {field: value}
    envelope = Envelope(att.canonical_json(statement), att.PAYLOAD_TYPE, {})
    envelope.sign(signer)  # signed by the right key: only the content is wrong
    with pytest.raises(AttestationError) as excinfo:
        att.verify(json.dumps(envelope.to_dict()).encode(), public)
    assert one_line(excinfo).startswith(expected)
    with pytest.raises(AttestationError):
        att.sign(statement, signer)  # and the suite never signs such a thing


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (b"\x00not json", "the attestation is not JSON ("),
        (b"[1, 2]", "the attestation is not a DSSE envelope"),
        (b'{"payload": "x"}', "the attestation is not a DSSE envelope"),
        (
            b'{"payload": "!!", "payloadType": "application/vnd.in-toto+json", "signatures": []}',
            "the attestation is not a valid DSSE envelope",
        ),
        (
            b'{"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": []}',
            "the attestation carries no signature",
        ),
        (
            b'{"payload": "e30=", "payloadType": "application/vnd.in-toto+json", '
            b'"signatures": "abc"}',
            "the attestation is not a valid DSSE envelope",
        ),
    ],
)
def test_what_is_not_an_envelope_is_refused(
    keys: tuple[att.Signer, Key], envelope: bytes, expected: str
) -> None:
    with pytest.raises(AttestationError) as excinfo:
        att.verify(envelope, keys[1])
    assert one_line(excinfo).startswith(expected)


def test_an_embedded_report_that_does_not_match_its_digest_is_refused(
    keys: tuple[att.Signer, Key],
) -> None:
    signer, public = keys
    statement = att.make_statement(a_report(green=False))
    carried = statement["predicate"]["configuration"][2]
    swapped = att.canonical_json(a_report(green=True))
    carried["content"] = base64.b64encode(swapped).decode()  # digest left as it was
    verified = att.verify(att.sign(statement, signer), public)  # the signature itself holds
    with pytest.raises(AttestationError) as excinfo:
        att.embedded_report(verified)
    assert one_line(excinfo).startswith("the embedded report does not match its digest (sha256 ")


def test_an_embedded_report_must_be_about_a_subject_and_agree_on_the_result() -> None:
    statement = att.make_statement(a_report())
    statement["subject"][0]["digest"] = {"sha256": REPO_HEX}
    with pytest.raises(AttestationError) as excinfo:
        att.embedded_report(statement)
    assert "not a subject of the statement" in one_line(excinfo)

    statement = att.make_statement(a_report(green=False))
    statement["predicate"]["result"] = "PASSED"
    with pytest.raises(AttestationError) as excinfo:
        att.embedded_report(statement)
    assert "disagrees with the embedded report (green=False)" in one_line(excinfo)

    statement = att.make_statement(a_report())
    del statement["predicate"]["configuration"][2]
    with pytest.raises(AttestationError) as excinfo:
        att.embedded_report(statement)
    assert "carries 0 'conformance-report.json' entries" in one_line(excinfo)


# --- keys -----------------------------------------------------------------------------


def test_keygen_writes_a_usable_pair_with_a_private_0600_key(tmp_path: Path) -> None:
    private, public = att.keygen(tmp_path / "keys")
    assert (private.name, public.name) == ("signing-key.pem", "signing-key.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    signer = att.load_signer(private, {})
    assert signer is not None
    key = att.load_public_key(public)
    assert key.scheme == "ed25519"
    statement = att.make_statement(a_report())
    assert att.verify(att.sign(statement, signer), key) == statement


def test_keygen_never_overwrites_a_key(tmp_path: Path) -> None:
    private, _ = att.keygen(tmp_path)
    before = private.read_bytes()
    with pytest.raises(AttestationError) as excinfo:
        att.keygen(tmp_path)
    assert one_line(excinfo) == f"{private} already exists; not overwriting a key"
    assert private.read_bytes() == before


def test_keygen_command_line(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "conformance.attestation", "keygen", str(tmp_path / "k")]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "signing-key.pem" in done.stdout and att.SIGNING_KEY_ENV in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_load_signer_from_file_from_env_and_file_first(tmp_path: Path) -> None:
    from_file = CryptoSigner.generate_ed25519()
    from_env = CryptoSigner.generate_ecdsa()
    private, _ = pem_files(from_file, tmp_path, "file")
    environ = {att.SIGNING_KEY_ENV: from_env.private_bytes.decode()}

    signer = att.load_signer(private, environ)
    assert signer is not None and signer.public_key.keyid == from_file.public_key.keyid
    signer = att.load_signer(None, environ)
    assert signer is not None and signer.public_key.keyid == from_env.public_key.keyid
    escaped = {att.SIGNING_KEY_ENV: from_env.private_bytes.decode().replace("\n", "\\n")}
    signer = att.load_signer(None, escaped)
    assert signer is not None and signer.public_key.keyid == from_env.public_key.keyid
    assert att.load_signer(None, {}) is None
    assert att.load_signer(None, {att.SIGNING_KEY_ENV: "  \n"}) is None


SECRET_LOOKING = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"


def test_a_bad_signing_key_is_one_line_naming_its_source_not_its_content(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text(SECRET_LOOKING)
    with pytest.raises(AttestationError) as excinfo:
        att.load_signer(bad, {})
    assert one_line(excinfo) == f"signing key file {bad} is not a PEM private key"

    with pytest.raises(AttestationError) as excinfo:
        att.load_signer(None, {att.SIGNING_KEY_ENV: SECRET_LOOKING})
    message = one_line(excinfo)
    assert message == f"${att.SIGNING_KEY_ENV} is not a PEM private key"
    assert "TOPSECRET" not in message

    with pytest.raises(AttestationError) as excinfo:
        att.load_signer(tmp_path / "missing.pem", {})
    assert one_line(excinfo) == (
        f"cannot read signing key file {tmp_path / 'missing.pem'}: No such file or directory"
    )

    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pw")
        )
    )
    with pytest.raises(AttestationError) as excinfo:
        att.load_signer(locked, {})
    assert "holds an encrypted private key" in one_line(excinfo)

    x25519 = tmp_path / "x25519.pem"
    x25519.write_bytes(
        X25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    with pytest.raises(AttestationError) as excinfo:
        att.load_signer(x25519, {})
    assert "cannot sign attestations (use Ed25519 or ECDSA P-256)" in one_line(excinfo)


def test_a_bad_public_key_file_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(AttestationError) as excinfo:
        att.load_public_key(garbage)
    assert one_line(excinfo) == f"{garbage} is not a PEM public key"

    private, _ = att.keygen(tmp_path / "k")
    with pytest.raises(AttestationError) as excinfo:
        att.load_public_key(private)
    assert one_line(excinfo) == (
        f"{private} is a private key; give the public key (signing-key.pub) instead"
    )

    with pytest.raises(AttestationError) as excinfo:
        att.load_public_key(tmp_path / "absent.pub")
    assert one_line(excinfo).startswith(f"cannot read public key {tmp_path / 'absent.pub'}: ")
