"""conformance-verify: at deploy time, prove an image in the registry passed the suite.

It resolves the reference to one image manifest, fetches the attestations stored
beside it (conformance/gate/oci.py) and accepts the image only if one of them is
signed by the given public key, names this image's config digest (its image ID)
as a subject, and carries a report that is green under the caller's policy.

Exit status: 0 verified (stdout: ``REPOSITORY@sha256:...``, the manifest to deploy),
1 not verified, 2 usage error. Every non-zero exit prints one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from securesystemslib.signer import Key

from conformance.attestation import AttestationError, load_public_key
from conformance.gate import oci
from conformance.gate import policy as policy_args
from conformance.gate.decision import GREEN, AttestationRefused, judge_attestation
from conformance.gate.errors import Refused, UsageError
from conformance.gate.registry import ecr_auth_config, ecr_registry, parse_reference
from conformance.schema import Policy

PROG = "conformance-verify"
EXIT_NOT_VERIFIED, EXIT_USAGE = 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Exit 0 only if IMAGE in its registry carries an attestation signed by "
        "the public key, about exactly that image, whose report is green under the policy.",
    )
    parser.add_argument(
        "image", metavar="IMAGE", help="REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:..."
    )
    parser.add_argument(
        "--public-key", required=True, type=Path, metavar="FILE", help="PEM public key"
    )
    policy_args.add_arguments(parser)
    return parser


@dataclass(frozen=True)
class _Outcome:
    """How far one attestation got; the furthest one's reason is the one reported."""

    stage: int
    reason: str


_VERIFIED = GREEN + 1


def _judge(envelope: bytes, image: oci.Resolved, key: Key, policy: Policy) -> _Outcome:
    try:
        judge_attestation(envelope, image.config_digest, key, policy, role="this image")
    except AttestationRefused as refused:
        return _Outcome(refused.stage, refused.reason)
    return _Outcome(_VERIFIED, f"attested green under {policy.source}")


def run(argv: Sequence[str] | None = None) -> str:
    """Verify; return ``REPOSITORY@DIGEST`` of the verified manifest or raise."""
    args = _parser().parse_args(argv)
    repository, reference = parse_reference(args.image)
    try:
        key = load_public_key(args.public_key)
    except AttestationError as exc:
        raise UsageError(f"--public-key: {exc}") from None
    policy = policy_args.from_args(args)
    ecr = ecr_registry(repository.host)
    auth = ecr_auth_config(ecr) if ecr else None
    try:
        image = oci.resolve(repository, reference, auth)
        envelopes = oci.fetch_attestations(repository, image.manifest_digest, auth)
    except oci.RegistryError as exc:
        raise Refused(str(exc)) from None
    if not envelopes:
        raise Refused(f"no attestation for {image.reference}")
    outcomes = [_judge(envelope, image, key, policy) for envelope in envelopes]
    best = max(outcomes, key=lambda outcome: outcome.stage)
    if best.stage < _VERIFIED:
        prefix = f"none of the {len(outcomes)} attestations holds: " if len(outcomes) > 1 else ""
        raise Refused(prefix + best.reason)
    print(f"{PROG}: {image.reference} (image {image.config_digest}) {best.reason}", file=sys.stderr)
    return image.reference


def main(argv: Sequence[str] | None = None) -> int:
    try:
        print(run(argv))
    except UsageError as exc:
        print(f"{PROG}: usage error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Refused as exc:
        print(f"{PROG}: not verified: {exc}", file=sys.stderr)
        return EXIT_NOT_VERIFIED
    return 0


if __name__ == "__main__":
    sys.exit(main())
