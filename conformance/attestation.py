"""A signed in-toto attestation of the exact image a conformance report is about.

The suite wraps its report in an in-toto Statement (predicate: test-result
v0.1) whose subjects are the image's config digest and any registry digests,
and signs it into a DSSE envelope with a private key. The release gate verifies
the envelope with the matching public key before trusting anything inside it.
Key handling, signing and DSSE come from securesystemslib; this module only
builds and checks the Statement.

``python -m conformance.attestation keygen DIR`` writes a fresh Ed25519 key pair.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from securesystemslib import exceptions as sslib_errors
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, Key, Signer, SSlibKey

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
SIGNING_KEY_ENV = "CONFORMANCE_SIGNING_KEY_PEM"  # the private key itself (CI secret)

SUITE_NAME = "ai-video-conformance"
REPORT_NAME = "conformance-report.json"
PRIVATE_KEY_FILE = "signing-key.pem"
PUBLIC_KEY_FILE = "signing-key.pub"

_RESULTS = ("PASSED", "WARNED", "FAILED")  # the test-result v0.1 enum
_WARNED = frozenset({"waived", "excluded"})  # not run by decision, not a failure
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class AttestationError(ValueError):
    """The attestation (or a key) cannot be made or trusted; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def _show(value: Any, limit: int = 80) -> str:
    """A foreign value quoted for a message: one line, bounded."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def canonical_json(value: Any) -> bytes:
    """The one byte form hashed and signed: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- the Statement -----------------------------------------------------------


def _sha256_hex(value: Any, what: str) -> str:
    """The hex of a "sha256:<hex>" string; anything else is refused."""
    if not isinstance(value, str) or not value.startswith("sha256:"):
        raise AttestationError(f"{what} is {_show(value)}, expected 'sha256:<64 hex digits>'")
    hex_part = value.removeprefix("sha256:")
    if not _SHA256_HEX.fullmatch(hex_part):
        raise AttestationError(f"{what} is {_show(value)}, expected 'sha256:<64 hex digits>'")
    return hex_part


def _subjects(report: dict[str, Any], repo_digests: Sequence[str]) -> list[dict[str, Any]]:
    image = report.get("image")
    if not isinstance(image, dict):
        raise AttestationError("the report has no 'image' object")
    ref = image.get("ref")
    if not isinstance(ref, str) or not ref:
        raise AttestationError("the report's image.ref is missing")
    subjects = [{"name": ref, "digest": {"sha256": _sha256_hex(image.get("id"), "image.id")}}]
    for repo_digest in repo_digests:
        repo, at, digest = str(repo_digest).rpartition("@")
        if not at or not repo:
            raise AttestationError(
                f"repo digest {_show(repo_digest)} is not of the form 'repo@sha256:<hex>'"
            )
        subject = {"name": repo, "digest": {"sha256": _sha256_hex(digest, "repo digest")}}
        if subject not in subjects:
            subjects.append(subject)
    return subjects


def _test_lists(report: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    checks = report.get("checks")
    if not isinstance(checks, list):
        raise AttestationError("the report has no 'checks' list")
    passed: list[str] = []
    warned: list[str] = []
    failed: list[str] = []
    for check in checks:
        if not isinstance(check, dict) or not isinstance(check.get("id"), str):
            raise AttestationError(f"the report has a check without an id: {_show(check)}")
        status = check.get("status")
        # Anything that is not a pass or a deliberate waiver counts against the image.
        target = passed if status == "passed" else warned if status in _WARNED else failed
        target.append(check["id"])
    return passed, warned, failed


def _configuration(report: dict[str, Any], report_bytes: bytes) -> list[dict[str, Any]]:
    tool = report.get("tool")
    version = tool.get("version") if isinstance(tool, dict) else None
    if not isinstance(version, str):
        raise AttestationError("the report's tool.version is missing")
    profile = report.get("profile")
    profile_digest = profile.get("digest") if isinstance(profile, dict) else None
    profile_entry: dict[str, Any] = {
        "name": "profile",
        "annotations": {"deviations": report.get("deviations", [])},
    }
    if profile_digest is not None:
        if not isinstance(profile_digest, str) or not _SHA256_HEX.fullmatch(profile_digest):
            raise AttestationError(
                f"the report's profile.digest is {_show(profile_digest)}, expected 64 hex digits"
            )
        profile_entry["digest"] = {"sha256": profile_digest}
    return [
        {"name": SUITE_NAME, "annotations": {"version": version}},
        profile_entry,
        {
            "name": REPORT_NAME,
            "mediaType": "application/json",
            "digest": {"sha256": hashlib.sha256(report_bytes).hexdigest()},
            "content": base64.b64encode(report_bytes).decode("ascii"),
        },
    ]


def make_statement(report: dict[str, Any], repo_digests: Sequence[str] = ()) -> dict[str, Any]:
    """An in-toto Statement that the image in ``report`` got the report's result.

    Subjects: the image's config digest (named by its ref) and one per
    ``repo@sha256:...`` registry digest. The whole report travels inside the
    predicate, so the gate decides on exactly what was signed.
    """
    if not isinstance(report, dict):
        raise AttestationError("the report is not a JSON object")
    report_bytes = canonical_json(report)
    passed, warned, failed = _test_lists(report)
    return {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(report, repo_digests),
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "result": "PASSED" if report.get("green") is True else "FAILED",
            "configuration": _configuration(report, report_bytes),
            "passedTests": passed,
            "warnedTests": warned,
            "failedTests": failed,
        },
    }


def _check_statement(statement: Any) -> dict[str, Any]:
    """Refuse anything that is not a test-result Statement with digested subjects."""
    if not isinstance(statement, dict):
        raise AttestationError("the attested statement is not a JSON object")
    if statement.get("_type") != STATEMENT_TYPE:
        raise AttestationError(
            f"the statement's _type is {_show(statement.get('_type'))}, expected {STATEMENT_TYPE}"
        )
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise AttestationError(
            f"the statement's predicateType is {_show(statement.get('predicateType'))}, "
            f"expected {PREDICATE_TYPE}"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise AttestationError("the statement names no subject")
    for subject in subjects:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if (
            not isinstance(digest, dict)
            or not digest
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in digest.items())
        ):
            raise AttestationError(f"the statement has a subject without digest: {_show(subject)}")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise AttestationError("the statement has no predicate")
    if predicate.get("result") not in _RESULTS:
        raise AttestationError(
            f"the predicate's result is {_show(predicate.get('result'))}, "
            f"expected one of {', '.join(_RESULTS)}"
        )
    if not isinstance(predicate.get("configuration"), list):
        raise AttestationError("the predicate has no configuration list")
    return statement


def subject_digests(statement: dict[str, Any]) -> set[str]:
    """Every subject digest as "<algorithm>:<hex>", e.g. {"sha256:ab12..."}."""
    found: set[str] = set()
    for subject in statement.get("subject") or []:
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digest, dict):
            found.update(f"{alg}:{value}" for alg, value in digest.items())
    return found


def embedded_report(statement: dict[str, Any]) -> dict[str, Any]:
    """The report carried in the predicate, after checking it against its digest.

    Also checks that the report is about a subject of the Statement and that the
    Statement's result is the report's verdict: the two must tell one story.
    """
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict) or not isinstance(predicate.get("configuration"), list):
        raise AttestationError("the statement has no predicate configuration")
    entries = [
        entry
        for entry in predicate["configuration"]
        if isinstance(entry, dict) and entry.get("name") == REPORT_NAME
    ]
    if len(entries) != 1:
        raise AttestationError(
            f"the statement carries {len(entries)} '{REPORT_NAME}' entries, expected exactly one"
        )
    entry = entries[0]
    content = entry.get("content")
    digest = entry.get("digest")
    expected = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(content, str) or not isinstance(expected, str):
        raise AttestationError(f"the statement's '{REPORT_NAME}' lacks its content or sha256")
    try:
        report_bytes = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise AttestationError(f"the statement's '{REPORT_NAME}' content is not base64") from None
    actual = hashlib.sha256(report_bytes).hexdigest()
    if actual != expected:
        raise AttestationError(
            f"the embedded report does not match its digest (sha256 {actual[:12]}…, "
            f"recorded {expected[:12]}…)"
        )
    try:
        report = json.loads(report_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AttestationError("the embedded report is not JSON") from None
    if not isinstance(report, dict):
        raise AttestationError("the embedded report is not a JSON object")
    image = report.get("image")
    image_id = image.get("id") if isinstance(image, dict) else None
    if image_id not in subject_digests(statement):
        raise AttestationError(
            f"the embedded report is about image {_show(image_id)}, not a subject of the statement"
        )
    result = "PASSED" if report.get("green") is True else "FAILED"
    if predicate.get("result") != result:
        raise AttestationError(
            f"the statement's result {_show(predicate.get('result'))} disagrees with "
            f"the embedded report (green={_show(report.get('green'))})"
        )
    return report


# --- signing and verifying ----------------------------------------------------


def sign(statement: dict[str, Any], signer: Signer) -> bytes:
    """The Statement signed into a DSSE envelope, as JSON bytes."""
    envelope = Envelope(canonical_json(_check_statement(statement)), PAYLOAD_TYPE, {})
    envelope.sign(signer)
    return json.dumps(envelope.to_dict(), indent=2).encode() + b"\n"


def verify(envelope: bytes, public_key: Key) -> dict[str, Any]:
    """The Statement inside ``envelope``, once its signature by ``public_key`` holds."""
    try:
        data = json.loads(envelope)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AttestationError(f"the attestation is not JSON ({err})") from None
    if not isinstance(data, dict) or not {"payload", "payloadType", "signatures"} <= data.keys():
        raise AttestationError(
            "the attestation is not a DSSE envelope (needs payload, payloadType and signatures)"
        )
    try:
        parsed = Envelope.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, sslib_errors.FormatError):
        raise AttestationError(
            "the attestation is not a valid DSSE envelope (bad payload or signature encoding)"
        ) from None
    if parsed.payload_type != PAYLOAD_TYPE:
        raise AttestationError(
            f"the attestation's payloadType is {_show(parsed.payload_type)}, "
            f"expected {PAYLOAD_TYPE}"
        )
    if not parsed.signatures:
        raise AttestationError("the attestation carries no signature")
    if public_key.keyid not in parsed.signatures:
        signed_by = ", ".join(sorted(str(k)[:12] for k in parsed.signatures))
        raise AttestationError(
            f"the attestation is signed by another key (keyid {signed_by}…), "
            f"not by the given public key (keyid {public_key.keyid[:12]}…)"
        )
    try:
        parsed.verify([public_key], 1)
    except sslib_errors.UnverifiedSignatureError:
        raise AttestationError(
            "the attestation's signature does not match its content (edited after signing?)"
        ) from None
    try:
        statement = json.loads(parsed.payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise AttestationError("the signed payload is not JSON") from None
    return _check_statement(statement)


# --- keys -----------------------------------------------------------------------


def _signer_from_pem(pem: bytes, source: str) -> CryptoSigner:
    # Messages name the source only: the PEM is a secret and never goes in a message.
    try:
        private_key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise AttestationError(
            f"{source} holds an encrypted private key; give an unencrypted PKCS#8 PEM"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise AttestationError(f"{source} is not a PEM private key") from None
    try:
        return CryptoSigner(private_key)
    except (ValueError, sslib_errors.Error):
        raise AttestationError(
            f"{source} holds a {type(private_key).__name__.removeprefix('_')}, "
            "which cannot sign attestations (use Ed25519 or ECDSA P-256)"
        ) from None


def load_signer(key_file: Path | None, environ: Mapping[str, str]) -> Signer | None:
    """The signer from ``key_file`` if given, else from the PEM in SIGNING_KEY_ENV, else None."""
    if key_file is not None:
        try:
            pem = Path(key_file).read_bytes()
        except OSError as err:
            raise AttestationError(
                f"cannot read signing key file {key_file}: {err.strerror or err}"
            ) from None
        return _signer_from_pem(pem, f"signing key file {key_file}")
    value = environ.get(SIGNING_KEY_ENV, "")
    if not value.strip():  # an unset CI secret often arrives as an empty variable
        return None
    if "\n" not in value and "\\n" in value:  # a PEM pasted with escaped newlines
        value = value.replace("\\n", "\n")
    return _signer_from_pem(value.encode(), f"${SIGNING_KEY_ENV}")


def load_public_key(path: Path) -> Key:
    """The public key in a PEM (SubjectPublicKeyInfo) file."""
    try:
        pem = Path(path).read_bytes()
    except OSError as err:
        raise AttestationError(f"cannot read public key {path}: {err.strerror or err}") from None
    if b"PRIVATE KEY" in pem:
        raise AttestationError(
            f"{path} is a private key; give the public key ({PUBLIC_KEY_FILE}) instead"
        )
    try:
        crypto_key = load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise AttestationError(f"{path} is not a PEM public key") from None
    try:
        return SSlibKey.from_crypto(crypto_key)
    except (ValueError, sslib_errors.Error):
        raise AttestationError(
            f"{path} holds a key type that cannot verify attestations (use Ed25519 or ECDSA P-256)"
        ) from None


def keygen(directory: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 pair: signing-key.pem (0600) and signing-key.pub. Never overwrites."""
    private_path = directory / PRIVATE_KEY_FILE
    public_path = directory / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise AttestationError(f"{path} already exists; not overwriting a key")
    signer = CryptoSigner.generate_ed25519()
    private_pem = signer.private_bytes
    public_pem = (
        load_pem_private_key(private_pem, password=None)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: the key is never readable by others, not even briefly.
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # the umask cannot widen it, but be explicit
            out.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as err:
        raise AttestationError(f"cannot write keys to {directory}: {err.strerror or err}") from None
    return private_path, public_path


def _print_predicate(path: Path) -> int:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(report, dict):
            raise AttestationError(f"{path} is not a JSON report object")
        print(json.dumps(make_statement(report)["predicate"], indent=2, sort_keys=True))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        print(f"error: cannot read the report {path}: {err}", file=sys.stderr)
        return 1
    except AttestationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.attestation",
        description="Keys for signed conformance attestations.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keygen_cmd = commands.add_parser(
        "keygen", help=f"write a new Ed25519 {PRIVATE_KEY_FILE} (0600) and {PUBLIC_KEY_FILE}"
    )
    keygen_cmd.add_argument("directory", type=Path)
    predicate_cmd = commands.add_parser(
        "predicate",
        help="print the test-result predicate for a JSON report (for keyless signing, "
        "e.g. actions/attest with predicate-path)",
    )
    predicate_cmd.add_argument("report", type=Path)
    args = parser.parse_args(argv)
    if args.command == "predicate":
        return _print_predicate(args.report)
    try:
        private_path, public_path = keygen(args.directory)
    except AttestationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {private_path} (private: keep it secret, e.g. as CI secret {SIGNING_KEY_ENV})")
    print(f"wrote {public_path} (public: give it to whoever verifies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
