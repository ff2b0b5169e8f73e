"""The releaser's policy on the command line: flags plus an optional policy file.

Shared by ``conformance-gate`` and ``conformance-verify`` so that both accept
exactly the same allowances (see conformance/policy.py for the file format).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.gate.errors import UsageError
from conformance.policy import PolicyError, load_policy
from conformance.schema import Policy

_FLAGS = (
    ("--allow-waiver", "ID", "check ID the profile may waive"),
    ("--allow-exclude", "ID", "check ID the run may have left out"),
    ("--allow-skip", "ID", "check ID that may be skipped"),
    ("--allow-override", "KEY", "profile key that may differ from the reference profile"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="policy TOML checked into your repository ([allow] waivers, excludes, "
        "overrides, skips); the --allow-* flags add to it",
    )
    for flag, metavar, text in _FLAGS:
        parser.add_argument(
            flag,
            action="append",
            default=[],
            metavar=metavar,
            help=f"{text} (repeatable, globs allowed); anything else is refused",
        )


def from_args(args: argparse.Namespace) -> Policy:
    try:
        return load_policy(
            args.policy,
            waivers=args.allow_waiver,
            excludes=args.allow_exclude,
            overrides=args.allow_override,
            skips=args.allow_skip,
        )
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
