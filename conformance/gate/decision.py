"""Decide whether a sealed JSON conformance report lets an image be released.

The gate trusts nothing the report says about itself: the seal must match,
``green`` and ``summary`` are recomputed from the individual checks, and the
profile's waivers must all be on the caller's allow list.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.gate.errors import Refused
from conformance.sealing import KEY_ENV, ReportTampered, verify

SCHEMA_VERSION = 1
TOOL_NAME = "ai-video-conformance"
STATUSES = ("passed", "failed", "waived", "skipped", "error")
# How many offending checks a refusal names before it says "and N more".
_NAMED_IN_REASON = 3


@dataclass(frozen=True)
class Policy:
    """What the caller accepts besides passed checks."""

    allowed_waivers: frozenset[str] = field(default_factory=frozenset)
    allowed_skips: frozenset[str] = field(default_factory=frozenset)
    # A plain SHA-256 seal only proves the file is intact, not who wrote it.
    require_keyed_seal: bool = True


@dataclass(frozen=True)
class Verdict:
    """A report that cleared the gate, summarised for the log line."""

    image_id: str
    passed: int
    waived: tuple[str, ...]
    skipped: tuple[str, ...]


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


def check_seal(report: dict[str, Any], policy: Policy) -> None:
    """Refuse a report whose seal is missing, wrong, or weaker than required."""
    key = os.environ.get(KEY_ENV)
    if policy.require_keyed_seal and not key:
        raise Refused(
            f"{KEY_ENV} is not set, so the report's HMAC seal cannot be checked "
            "(set it to the key the suite used, or pass --allow-unkeyed-seal)"
        )
    try:
        verify(report, key.encode() if key else None)
    except ReportTampered as exc:
        raise Refused(f"the report's seal is invalid: {exc}") from None


def _malformed(what: str) -> Refused:
    return Refused(f"the report is malformed: {what}")


def _check_shape(report: dict[str, Any]) -> None:
    """Refuse reports that do not have the fields the decision reads."""
    if report.get("schema_version") != SCHEMA_VERSION:
        raise _malformed(
            f"schema_version is {report.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        )
    tool = report.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != TOOL_NAME:
        raise _malformed(f"tool.name is not {TOOL_NAME!r}")
    image = report.get("image")
    image_id = image.get("id") if isinstance(image, dict) else None
    if not isinstance(image_id, str) or not image_id.startswith("sha256:"):
        raise _malformed("image.id is not a sha256 image ID")
    profile = report.get("profile")
    waivers = profile.get("waivers") if isinstance(profile, dict) else None
    if not isinstance(waivers, dict):
        raise _malformed("profile.waivers is not an object of check IDs")
    summary = report.get("summary")
    counts = ("total", *STATUSES)
    if not isinstance(summary, dict) or not all(type(summary.get(k)) is int for k in counts):
        raise _malformed("summary lacks integer counts for " + ", ".join(counts))
    if not isinstance(report.get("green"), bool):
        raise _malformed("green is not true/false")
    checks = report.get("checks")
    if not isinstance(checks, list):
        raise _malformed("checks is not a list")
    for index, check in enumerate(checks):
        if not isinstance(check, dict) or not isinstance(check.get("id"), str) or not check["id"]:
            raise _malformed(f"checks[{index}] has no id")
        if check.get("status") not in STATUSES:
            raise _malformed(f"check {check['id']} has status {check.get('status')!r}")
    ids = Counter(check["id"] for check in checks)
    duplicates = sorted(check_id for check_id, n in ids.items() if n > 1)
    if duplicates:
        raise _malformed(f"check IDs appear twice: {', '.join(duplicates)}")


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:_NAMED_IN_REASON])
    rest = len(items) - _NAMED_IN_REASON
    return f"{shown} and {rest} more" if rest > 0 else shown


def evaluate(report: dict[str, Any], image_id: str, policy: Policy) -> Verdict:
    """Return the verdict for a report about ``image_id``, or raise Refused."""
    check_seal(report, policy)
    _check_shape(report)

    reported_id = report["image"]["id"]
    if reported_id != image_id:
        raise Refused(
            f"the report is for image {reported_id}, not for the image being pushed ({image_id})"
        )

    waivers: dict[str, Any] = report["profile"]["waivers"]
    unallowed = sorted(set(waivers) - policy.allowed_waivers)
    if unallowed:
        raise Refused(
            f"the profile waives {_named(unallowed)}, not in the allowed waivers "
            "(--allow-waiver ID)"
        )

    checks: list[dict[str, Any]] = report["checks"]
    if not checks:
        raise Refused("the report contains no checks")

    selection = report.get("selection") or {}
    if selection.get("complete") is False:  # --check, -k, -m, --deselect, a path subset
        left_out = sorted(selection.get("left_out") or {})
        raise Refused(
            f"the report covers a selection, not the contract: {_named(left_out)} not "
            "selected (run the whole suite)"
        )

    counted = Counter(check["status"] for check in checks)
    summary = report["summary"]
    for status in STATUSES:
        if summary[status] != counted[status]:
            raise Refused(
                f"the report's summary says {summary[status]} {status} "
                f"but its checks list {counted[status]}"
            )
    if summary["total"] != len(checks):
        raise Refused(
            f"the report's summary says {summary['total']} checks but it lists {len(checks)}"
        )

    not_green: list[str] = []
    for check in checks:
        check_id, status = check["id"], check["status"]
        if status in ("failed", "error"):
            not_green.append(f"{check_id} {status}")
        elif status == "waived" and check_id not in waivers:
            not_green.append(f"{check_id} waived without a profile waiver")
        elif status == "skipped" and check_id not in policy.allowed_skips:
            not_green.append(f"{check_id} skipped (not allowed by --allow-skip)")
    if not_green:
        raise Refused(f"the report is not green: {_named(not_green)}")

    # Recomputed green; a report that disagrees with its own checks is suspect.
    if report["green"] is not True:
        raise Refused("the report marks itself not green although its checks pass")

    by_status: dict[str, list[str]] = {s: [] for s in STATUSES}
    for check in checks:
        by_status[check["status"]].append(check["id"])
    return Verdict(
        image_id=image_id,
        passed=counted["passed"],
        waived=tuple(by_status["waived"]),
        skipped=tuple(by_status["skipped"]),
    )
