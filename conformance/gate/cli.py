"""conformance-gate: push an image only if its sealed conformance report is green.

Exit status: 0 pushed (stdout: ``REPOSITORY@sha256:...``), 1 refused (nothing
pushed), 2 usage error (nothing pushed), 3 the push or its verification failed.
Every non-zero exit prints exactly one line on stderr naming the reason.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from conformance.gate import policy as policy_args
from conformance.gate import push as docker_push
from conformance.gate.decision import evaluate, load_report
from conformance.gate.errors import PushFailed, Refused, UsageError
from conformance.gate.registry import (
    EcrRegistry,
    check_tag,
    ecr_auth_config,
    ecr_registry,
    parse_repository,
)

PROG = "conformance-gate"
EXIT_REFUSED, EXIT_USAGE, EXIT_PUSH_FAILED = 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other refusal."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Push IMAGE to REPOSITORY only if REPORT is a green, sealed "
        "conformance report for exactly that image ID.",
    )
    parser.add_argument("--image", required=True, help="local image reference or ID")
    parser.add_argument("--report", required=True, type=Path, help="the suite's JSON report")
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
        "--allow-unkeyed-seal",
        action="store_true",
        help="accept a plain SHA-256 seal when CONFORMANCE_REPORT_KEY is unset",
    )
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


def run(argv: Sequence[str] | None = None) -> str:
    """Apply the gate; return the pushed ``REPOSITORY@DIGEST`` or raise."""
    args = _parser().parse_args(argv)
    repository = parse_repository(args.repository)
    tags = [check_tag(t) for t in (args.tags or _default_tags(args.image))]
    ecr = _ecr_target(args, repository.host)
    policy = policy_args.from_args(args)

    report = load_report(args.report)
    client = docker_push.connect()
    try:
        source_id = docker_push.image_id(client, args.image)
    except LookupError as exc:
        raise Refused(str(exc)) from None
    verdict = evaluate(report, source_id, policy, require_keyed_seal=not args.allow_unkeyed_seal)
    auth = ecr_auth_config(ecr) if ecr else None

    pushed = docker_push.push(
        client, source_id, repository, tags, auth, ecr=ecr, replace_tag=args.replace_tag
    )
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
    print(
        f"{PROG}: {pushed.summary(source_id)} ({'; '.join(notes)})",
        file=sys.stderr,
    )
    return f"{repository.name}@{pushed.digest}"


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
