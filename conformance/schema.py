"""The report format and the one rule that says whether a run is green.

Both sides import this module and nothing else of each other: the suite builds
reports in this shape and calls ``decide`` for its own verdict and exit status;
the gate (and ``conformance-verify``) checks the shape and calls the same
``decide`` with the releaser's policy.

Green means: every check ID of the contract is in the report, and each one
passed, or was waived, excluded or skipped with the policy's allowance; and
every profile value that differs from the reference profile is allowed by the
policy. Anything else, including a check that was blocked by another's
failure, is not green.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from conformance.catalogue import CHECKS

SCHEMA_VERSION = 2
TOOL_NAME = "ai-video-conformance"
# "blocked": a precondition (another check) failed, so this one could not measure.
# "excluded": the run left the check out (suite.exclude, --check, -k, -m, a path subset).
STATUSES = ("passed", "failed", "error", "blocked", "waived", "excluded", "skipped")
# The statuses a policy can allow, and the policy field that allows each.
ALLOWABLE = {"waived": "waivers", "excluded": "excludes", "skipped": "skips"}
# How many offending items a one-line reason names before it says "and N more".
NAMED_IN_REASON = 3


class MalformedReport(ValueError):
    """The report lacks a field the decision reads; the message is one line."""


@dataclass(frozen=True)
class Policy:
    """What a caller accepts besides passed checks and reference values.

    Each field holds check IDs (waivers, excludes, skips) or profile keys
    (overrides, e.g. ``image.max_size_mb``); globs like ``DEP-*`` are allowed.
    """

    waivers: frozenset[str] = field(default_factory=frozenset)
    excludes: frozenset[str] = field(default_factory=frozenset)
    overrides: frozenset[str] = field(default_factory=frozenset)
    skips: frozenset[str] = field(default_factory=frozenset)
    source: str = "no allowances"

    def allows(self, kind: str, name: str) -> bool:
        patterns: frozenset[str] = getattr(self, kind)
        return any(fnmatchcase(name, pattern) for pattern in patterns)

    def as_json(self) -> dict[str, Any]:
        lists = {k: sorted(getattr(self, k)) for k in ("waivers", "excludes", "overrides", "skips")}
        return {"source": self.source, **lists}


@dataclass(frozen=True)
class Decision:
    green: bool
    reasons: tuple[str, ...] = ()

    def line(self) -> str:
        """The reasons as one line, naming the first few."""
        if self.green:
            return "green"
        return "not green: " + named(list(self.reasons))


def named(items: list[str], limit: int = NAMED_IN_REASON) -> str:
    shown = ", ".join(items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def _malformed(what: str) -> MalformedReport:
    return MalformedReport(f"the report is malformed: {what}")


def check_shape(report: dict[str, Any]) -> None:
    """Raise MalformedReport unless the report has every field ``decide`` reads."""
    if report.get("schema_version") != SCHEMA_VERSION:
        raise _malformed(
            f"schema_version is {report.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        )
    tool = report.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != TOOL_NAME:
        raise _malformed(f"tool.name is not {TOOL_NAME!r}")
    if not isinstance(tool.get("version"), str):
        raise _malformed("tool.version (the suite version) is missing")
    catalogue = report.get("catalogue")
    if not isinstance(catalogue, list) or not all(isinstance(i, str) for i in catalogue):
        raise _malformed("catalogue is not a list of check IDs")
    image = report.get("image")
    image_id = image.get("id") if isinstance(image, dict) else None
    if not isinstance(image_id, str) or not image_id.startswith("sha256:"):
        raise _malformed("image.id is not a sha256 image ID")
    profile = report.get("profile")
    waivers = profile.get("waivers") if isinstance(profile, dict) else None
    if not isinstance(waivers, dict):
        raise _malformed("profile.waivers is not an object of check IDs")
    deviations = report.get("deviations")
    if not isinstance(deviations, list) or not all(
        isinstance(d, dict) and isinstance(d.get("key"), str) for d in deviations
    ):
        raise _malformed("deviations is not a list of {key, ...} objects")
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


def summarize(statuses: Iterable[str]) -> dict[str, int]:
    counted = Counter(statuses)
    return {"total": sum(counted.values())} | {s: counted[s] for s in STATUSES}


def decide(report: dict[str, Any], policy: Policy) -> Decision:
    """The verdict on a well-formed report under ``policy`` (see the module docstring)."""
    check_shape(report)
    checks: list[dict[str, Any]] = report["checks"]
    listed = {check["id"] for check in checks}
    # The contract this program knows, and whatever more the report's catalogue names.
    known = [*CHECKS, *(i for i in report["catalogue"] if i not in CHECKS)]
    missing = [check_id for check_id in known if check_id not in listed]
    reasons = []
    if missing:  # one reason for all of them, naming them: a partial report is one fault
        reasons.append(f"{len(missing)} checks missing from the report ({named(missing, 8)})")
    strangers = sorted(listed - set(report["catalogue"]))
    reasons += [f"{check_id} is not in the report's catalogue" for check_id in strangers]

    summary = report["summary"]
    if summary != summarize(check["status"] for check in checks):
        reasons.append("the summary does not match the checks it lists")

    waivers: dict[str, Any] = report["profile"]["waivers"]
    unallowed: dict[str, list[str]] = {status: [] for status in ALLOWABLE}
    for check in checks:
        check_id, status = check["id"], check["status"]
        if status == "passed":
            continue
        if status == "waived" and check_id not in waivers:
            reasons.append(f"{check_id} waived without a profile waiver")
        elif status in ALLOWABLE and not policy.allows(ALLOWABLE[status], check_id):
            unallowed[status].append(check_id)
        elif status not in ALLOWABLE:
            reasons.append(f"{check_id} {status}")
    for status, ids in unallowed.items():
        flag = "--allow-" + ALLOWABLE[status].removesuffix("s")
        if len(ids) == 1:
            reasons.append(f"{ids[0]} {status} (not allowed: {flag} {ids[0]})")
        elif ids:  # a selection leaves many out: one reason that names them
            reasons.append(
                f"{len(ids)} checks {status} without allowance ({named(ids, 8)}; {flag} ID)"
            )

    for deviation in report["deviations"]:
        key = deviation["key"]
        if not policy.allows("overrides", key):
            change = f"{deviation.get('reference')!r} -> {deviation.get('value')!r}"
            reasons.append(f"{key} overridden {change} (not allowed: --allow-override {key})")
    return Decision(green=not reasons, reasons=tuple(reasons))
