"""conformance-gate: push an image only if its signed conformance attestation is green.

The attestation (the DSSE envelope the suite wrote) must verify with the public
key, name the local image ID as its subject, and carry a report that is green
under the releaser's policy. After the push the attestation is stored beside
the image in the registry (conformance/gate/oci.py), re-signed with the repo
digest as a second subject when the gate has the signing key.

Exit status: 0 pushed, or already there with its attestation (stdout:
``REPOSITORY@sha256:...``), 1 refused (nothing pushed), 2 usage error (nothing
pushed), 3 the push, its verification or storing the attestation failed.
Every exit prints exactly one line on stderr: what was done, or why not.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from securesystemslib.signer import Key, Signer

from conformance.attestation import (
    SIGNING_KEY_ENV,
    AttestationError,
    embedded_report,
    load_public_key,
    load_signer,
    make_statement,
    sign,
)
from conformance.gate import oci
from conformance.gate import policy as policy_args
from conformance.gate import push as docker_push
from conformance.gate.decision import (
    AttestationRefused,
    Verdict,
    judge_attestation,
    load_envelope,
)
from conformance.gate.errors import PushFailed, Refused, UsageError
from conformance.gate.registry import (
    EcrRegistry,
    Repository,
    check_tag,
    ecr_auth_config,
    ecr_registry,
    parse_repository,
)
from conformance.schema import Policy

PROG = "conformance-gate"
EXIT_REFUSED, EXIT_USAGE, EXIT_PUSH_FAILED = 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other refusal."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Push IMAGE to REPOSITORY only if ATTESTATION, signed by the holder of "
        "the public key, is about exactly that image ID and its report is green; then store "
        "the attestation beside the image.",
    )
    parser.add_argument("--image", required=True, help="local image reference or ID")
    parser.add_argument(
        "--attestation",
        required=True,
        type=Path,
        metavar="FILE",
        help="the DSSE envelope the suite wrote (--conformance-attestation)",
    )
    parser.add_argument(
        "--public-key",
        required=True,
        type=Path,
        metavar="FILE",
        help="PEM public key of the suite's signing key",
    )
    parser.add_argument(
        "--signing-key",
        type=Path,
        metavar="FILE",
        help="the private key of --public-key (PEM; or the PEM itself in "
        f"{SIGNING_KEY_ENV}): re-sign the attestation with the pushed repo digest as a "
        "second subject; without it the suite's envelope is stored as it is",
    )
    parser.add_argument("--repository", required=True, help="REGISTRY/REPO to push to (no tag)")
    parser.add_argument(
        "--tag",
        action="append",
        default=[],
        dest="tags",
        metavar="TAG",
        help="tag to push (repeatable; default: the tag of --image)",
    )
    policy_args.add_arguments(parser)
    parser.add_argument(
        "--login",
        choices=("auto", "ecr", "docker"),
        default="auto",
        help="auto: ECR token login for ECR hosts, Docker's own credentials otherwise",
    )
    parser.add_argument("--ecr-registry-id", help="AWS account of the registry (--login ecr)")
    parser.add_argument("--ecr-region", help="AWS region of the registry (--login ecr)")
    parser.add_argument(
        "--replace-tag",
        action="store_true",
        help="move a tag that holds another image (a tag holding this image is left alone)",
    )
    return parser


def _default_tags(image: str) -> list[str]:
    name = image.rsplit("/", 1)[-1]
    if "@" in image or ":" not in name or image.startswith("sha256:"):
        raise UsageError(f"--image {image!r} carries no tag to reuse: pass --tag")
    return [name.rsplit(":", 1)[1]]


def _ecr_target(args: argparse.Namespace, host: str) -> EcrRegistry | None:
    if args.login == "docker":
        return None
    found = ecr_registry(host)
    if args.login == "auto":
        return found
    account = args.ecr_registry_id or (found.account if found else None)
    region = args.ecr_region or (found.region if found else None)
    if not account or not region:
        raise UsageError(
            f"--login ecr for {host} needs --ecr-registry-id and --ecr-region "
            "(they cannot be read from a non-ECR host name)"
        )
    return EcrRegistry(account, region)


def _keys(args: argparse.Namespace) -> tuple[Key, Signer | None]:
    """The public key that must verify, and the optional signer (its pair) to re-sign."""
    try:
        key = load_public_key(args.public_key)
    except AttestationError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    try:
        signer = load_signer(args.signing_key, os.environ)
    except AttestationError as exc:
        raise UsageError(f"--signing-key: {exc}") from None
    # A re-signed attestation the public key cannot verify would help no deployer,
    # and a re-run could never recognise it as already stored.
    if signer is not None and signer.public_key.keyid != key.keyid:
        source = f"--signing-key {args.signing_key}" if args.signing_key else f"${SIGNING_KEY_ENV}"
        raise UsageError(
            f"the signing key in {source} (keyid {signer.public_key.keyid[:12]}…) is not the "
            f"pair of --public-key {args.public_key} (keyid {key.keyid[:12]}…)"
        )
    return key, signer


def _attested(
    repository: Repository,
    digest: str,
    source_id: str,
    key: Key,
    policy: Policy,
    auth: dict[str, str] | None,
) -> bool:
    """Does the registry hold, for this manifest, an attestation that clears the gate?"""
    for stored in oci.fetch_attestations(repository, digest, auth):
        try:
            judge_attestation(stored, source_id, key, policy)
        except AttestationRefused:
            continue
        return True
    return False


def _store_attestation(
    repository: Repository,
    pushed: docker_push.Pushed,
    source_id: str,
    envelope: bytes,
    statement: dict[str, Any],
    key: Key,
    policy: Policy,
    signer: Signer | None,
    auth: dict[str, str] | None,
) -> str:
    """Store the attestation beside the pushed manifest; say how (for the log line)."""
    reference = f"{repository.name}@{pushed.digest}"
    try:
        # A no-op push of an image that already carries a good attestation stays a no-op.
        if not pushed.pushed and _attested(repository, pushed.digest, source_id, key, policy, auth):
            return "its attestation is already stored: nothing attached"
        if signer is not None:
            report = embedded_report(statement)
            envelope = sign(make_statement(report, repo_digests=[reference]), signer)
            what = "the attestation, re-signed with the repo digest as a subject,"
        else:
            what = "the suite's attestation"
        how = oci.attach(repository, pushed.digest, envelope, auth)
    except (oci.RegistryError, AttestationError) as exc:
        done = "was pushed" if pushed.pushed else "is in the registry"
        raise PushFailed(
            f"{source_id} {done} ({reference}) but its attestation was not stored: {exc}"
        ) from None
    return f"{what} stored ({how})"


def run(argv: Sequence[str] | None = None) -> str:
    """Apply the gate; return the pushed ``REPOSITORY@DIGEST`` or raise."""
    args = _parser().parse_args(argv)
    repository = parse_repository(args.repository)
    tags = [check_tag(t) for t in (args.tags or _default_tags(args.image))]
    ecr = _ecr_target(args, repository.host)
    policy = policy_args.from_args(args)

    envelope = load_envelope(args.attestation)
    key, signer = _keys(args)
    client = docker_push.connect()
    try:
        source_id = docker_push.image_id(client, args.image)
    except LookupError as exc:
        raise Refused(str(exc)) from None
    verdict, statement = judge_attestation(envelope, source_id, key, policy)
    auth = ecr_auth_config(ecr) if ecr else None

    pushed = docker_push.push(
        client, source_id, repository, tags, auth, ecr=ecr, replace_tag=args.replace_tag
    )
    stored = _store_attestation(
        repository, pushed, source_id, envelope, statement, key, policy, signer, auth
    )
    print(
        f"{PROG}: {pushed.summary(source_id)} ({_notes(verdict)}); {stored}",
        file=sys.stderr,
    )
    return f"{repository.name}@{pushed.digest}"


def _notes(verdict: Verdict) -> str:
    notes = [f"{verdict.passed} passed"]
    if verdict.waived:
        notes.append("waived " + ", ".join(verdict.waived))
    for what, ids in (
        ("excluded", verdict.excluded),
        ("skipped", verdict.skipped),
        ("overridden", verdict.overridden),
    ):
        if ids:
            notes.append(f"{what} " + ", ".join(ids))
    return "; ".join(notes)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        print(run(argv))
    except UsageError as exc:
        print(f"{PROG}: usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Refused as exc:
        print(f"{PROG}: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except PushFailed as exc:
        print(f"{PROG}: push failed: {exc}", file=sys.stderr)
        return EXIT_PUSH_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
