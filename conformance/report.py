"""Results per check ID, and the JSON report and Markdown summary built from them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.catalogue import CHECKS
from conformance.schema import SCHEMA_VERSION, STATUSES, TOOL_NAME, Policy, decide, summarize

# When one check ID has several test items, the worst status wins.
_RANK = {"failed": 0, "error": 1, "blocked": 2, "skipped": 3, "waived": 4, "passed": 5}


@dataclass
class CheckResult:
    id: str
    status: str = "skipped"
    measured: str | None = None
    threshold: str | None = None
    message: str | None = None
    duration_s: float = 0.0
    items: dict[str, str] = field(default_factory=dict)  # nodeid -> status

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": CHECKS.get(self.id, self.id),
            "status": self.status,
            "measured": self.measured,
            "threshold": self.threshold,
            "message": self.message,
            "duration_s": round(self.duration_s, 3),
        }


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return report.longreprtext.strip()


class ResultBook:
    """Collects pytest's reports into one result per check ID."""

    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {}

    def expect(self, check_id: str, nodeid: str) -> None:
        """A selected item: until it reports, it counts as not run."""
        result = self.results.setdefault(check_id, CheckResult(check_id))
        result.items[nodeid] = "pending"

    def exclude(self, check_id: str, why: str) -> None:
        """A check this run leaves out: excluded, which is neither passed nor skipped."""
        self.results.setdefault(check_id, CheckResult(check_id, status="excluded", message=why))

    def add(self, check_id: str, report: pytest.TestReport) -> None:
        from conformance.verdict import BLOCKED_PREFIX, WAIVED_PREFIX

        result = self.results.setdefault(check_id, CheckResult(check_id))
        result.duration_s += report.duration
        props = dict(report.user_properties)
        if "measured" in props:
            result.measured = str(props["measured"])
        if "threshold" in props:
            result.threshold = str(props["threshold"])
        status: str | None = None
        if report.failed:
            status = "failed" if report.when == "call" else "error"
        elif report.skipped:
            message = _message(report)
            if message.startswith(WAIVED_PREFIX):
                status = "waived"
            elif message.startswith(BLOCKED_PREFIX):
                status = "blocked"
            else:
                status = "skipped"
        elif report.when == "call":
            status = "passed"
        if status is None:
            return
        result.items[report.nodeid] = status
        if status != "passed" and (result.message is None or status in ("failed", "error")):
            result.message = _message(report)

    def finish(self) -> list[CheckResult]:
        for check_id in CHECKS:  # a path subset never collects the rest: say so
            self.exclude(check_id, "excluded: not collected in this run")
        for result in self.results.values():
            statuses = list(result.items.values())
            if "pending" in statuses:
                result.status = "error"
                result.message = "not run: the session ended before this check"
            elif statuses:
                result.status = min(statuses, key=_RANK.__getitem__)
            if result.status == "passed":
                result.message = None
        order = list(CHECKS)
        return sorted(
            self.results.values(), key=lambda r: order.index(r.id) if r.id in order else len(order)
        )


def build_report(
    results: list[CheckResult],
    image: dict[str, Any],
    profile: dict[str, Any],
    started_at: datetime,
    finished_at: datetime,
    duration_s: float,
    policy: Policy,
    deviations: list[dict[str, Any]] | None = None,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "catalogue": list(CHECKS),
        "image": image,
        "profile": profile,
        "deviations": deviations or [],
        "policy": policy.as_json(),
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": round(duration_s, 2),
        "summary": summarize(r.status for r in results),
        "selection": selection or {"complete": True, "checks": [], "left_out": {}},
        "green": False,
        "checks": [r.as_json() for r in results],
    }
    decision = decide(report, policy)
    report["green"] = decision.green
    report["verdict"] = {"green": decision.green, "reasons": list(decision.reasons)}
    return report


_ICON = {
    "passed": "✅",
    "failed": "❌",
    "error": "💥",
    "blocked": "🚧",
    "waived": "🟡",
    "excluded": "⛔",
    "skipped": "⏭️",
}


def _cell(text: str | None, limit: int = 160) -> str:
    flat = " ".join((text or "").split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _deviation_lines(deviations: list[dict[str, Any]], policy: dict[str, Any]) -> list[str]:
    from fnmatch import fnmatchcase

    allowed = policy.get("overrides") or []
    lines = [
        f"### Deviations from the reference profile ({len(deviations)})",
        "",
        "| Key | Reference | This run | Direction | Allowed | Source |",
        "|---|---|---|---|---|---|",
    ]
    for d in deviations:
        ok = any(fnmatchcase(d["key"], pattern) for pattern in allowed)
        lines.append(
            f"| `{d['key']}` | {_cell(repr(d['reference']), 40)} | {_cell(repr(d['value']), 40)} "
            f"| {d['direction']} | {'yes' if ok else '**no**'} | {_cell(d['source'], 60)} |"
        )
    return [*lines, ""]


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    verdict = "green" if report["green"] else "NOT green"
    selection = report.get("selection") or {}
    lines = [f"## Conformance: `{report['image']['ref']}` is {verdict}", ""]
    # What the run was measured against comes first: a loosened profile is read before results.
    if report.get("deviations"):
        lines += _deviation_lines(report["deviations"], report.get("policy") or {})
    reasons = (report.get("verdict") or {}).get("reasons") or []
    if reasons:
        lines += [f"**Why not green:** {_cell('; '.join(reasons), 600)}", ""]
    if selection.get("left_out"):
        left_out = selection["left_out"]
        lines += [
            f"**A selection, not a releasable report:** {len(left_out)} of {s['total']} checks "
            f"were left out ({', '.join(sorted(set(left_out.values())))}).",
            "",
        ]
    counts = " · ".join(f"{s[status]} {status}" for status in STATUSES)
    lines += [
        f"Image `{report['image']['id']}` · {counts} · {report['duration_s']:.1f} s",
        "",
        "| | Check | Measured | Threshold | Note |",
        "|---|---|---|---|---|",
    ]
    for check in report["checks"]:
        lines.append(
            f"| {_ICON[check['status']]} | `{check['id']}` | {_cell(check['measured'], 60)} | "
            f"{_cell(check['threshold'], 40)} | {_cell(check['message'])} |"
        )
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], json_path: str, markdown_path: str, base: Path) -> list[Path]:
    written = []
    for target, text in ((json_path, None), (markdown_path, markdown(report))):
        if not target:
            continue
        path = Path(target) if Path(target).is_absolute() else base / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text is not None else json.dumps(report, indent=2) + "\n")
        written.append(path)
    return written
