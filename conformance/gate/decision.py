"""Decide whether a sealed JSON conformance report lets an image be released.

The gate trusts nothing the report says about itself: the seal must match,
and the green rule (conformance/schema.py) is applied again under the
releaser's policy: every check ID of the contract present and passed, every
waiver, exclusion, skip and profile deviation allowed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.gate.errors import Refused
from conformance.schema import MalformedReport, Policy, decide
from conformance.sealing import KEY_ENV, ReportTampered, verify


@dataclass(frozen=True)
class Verdict:
    """A report that cleared the gate, summarised for the log line."""

    image_id: str
    passed: int
    waived: tuple[str, ...]
    excluded: tuple[str, ...]
    skipped: tuple[str, ...]
    overridden: tuple[str, ...]


def load_report(path: Path) -> dict[str, Any]:
    """Read the report file, refusing anything that is not a JSON object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Refused(f"no report at {path} (did the conformance run write one?)") from None
    except IsADirectoryError:
        raise Refused(f"{path} is a directory, not a JSON report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"cannot read the report {path}: {exc}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(f"the report {path} is not valid JSON (truncated?): {exc}") from None
    if not isinstance(report, dict):
        raise Refused(f"the report {path} is not a JSON object")
    return report


def check_seal(report: dict[str, Any], require_keyed_seal: bool) -> None:
    """Refuse a report whose seal is missing, wrong, or weaker than required."""
    key = os.environ.get(KEY_ENV)
    if require_keyed_seal and not key:
        raise Refused(
            f"{KEY_ENV} is not set, so the report's HMAC seal cannot be checked "
            "(set it to the key the suite used, or pass --allow-unkeyed-seal)"
        )
    try:
        verify(report, key.encode() if key else None)
    except ReportTampered as exc:
        raise Refused(f"the report's seal is invalid: {exc}") from None


def judge(report: dict[str, Any], image_id: str, policy: Policy) -> Verdict:
    """Return the verdict on a report about ``image_id`` under the releaser's policy,
    or raise Refused. The report's own ``green`` is ignored: the rule is re-applied."""
    try:
        decision = decide(report, policy)
    except MalformedReport as exc:
        raise Refused(str(exc)) from None
    reported_id = report["image"]["id"]
    if reported_id != image_id:
        raise Refused(
            f"the report is for image {reported_id}, not for the image being pushed ({image_id})"
        )
    if not decision.green:
        raise Refused(f"the report is {decision.line()}")
    by_status: dict[str, list[str]] = {}
    for check in report["checks"]:
        by_status.setdefault(check["status"], []).append(check["id"])
    return Verdict(
        image_id=image_id,
        passed=len(by_status.get("passed", [])),
        waived=tuple(by_status.get("waived", [])),
        excluded=tuple(by_status.get("excluded", [])),
        skipped=tuple(by_status.get("skipped", [])),
        overridden=tuple(d["key"] for d in report["deviations"]),
    )


def evaluate(
    report: dict[str, Any], image_id: str, policy: Policy, require_keyed_seal: bool = True
) -> Verdict:
    """Check the seal, then judge the report."""
    check_seal(report, require_keyed_seal)
    return judge(report, image_id, policy)
