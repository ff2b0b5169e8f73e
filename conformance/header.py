"""The report header: the resolved settings, one per line, grouped by section.

By default it shows the suite settings and only the profile values that differ
from the reference profile (with their source), then how many are defaults;
``-v`` shows every value. No line is wider than ``WIDTH`` columns.
"""

from __future__ import annotations

from typing import Any

from conformance.settings import Resolved

WIDTH = 100
PROFILE_SECTIONS = ("image", "fs", "ffmpeg", "runtime", "security", "spa", "logs", "deploy")


def _fit(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


def _line(key: str, entry: dict[str, Any], indent: str = "  ") -> str:
    head, value, tail = f"{indent}{key} = ", repr(entry["value"]), f" [{entry['source']}]"
    room = WIDTH - len(head) - len(tail)
    if len(value) > room:  # keep the end: a path's file name, a list's last items
        value = "…" + value[-(room - 1) :]
    return _fit(head + value + tail)


def header_lines(resolved: Resolved, verbose: bool) -> list[str]:
    values = resolved.report_values()
    lines = ["conformance settings (value [source]):"]
    lines += [_line(key, entry) for key, entry in values.items() if key.startswith("suite.")]
    defaults = 0
    for section in PROFILE_SECTIONS:
        entries = {
            key.split(".", 1)[1]: entry
            for key, entry in values.items()
            if key.startswith(f"{section}.") and (verbose or entry["source"] != "default")
        }
        defaults += sum(
            1
            for key, entry in values.items()
            if key.startswith(f"{section}.") and entry["source"] == "default"
        )
        if entries:
            lines.append(f"  [{section}]")
            lines += [_line(key, entry, "    ") for key, entry in entries.items()]
    if not verbose:
        lines.append(f"  {defaults} profile values at the reference defaults (-v lists them)")
    profile = resolved.profile
    section_ids = {i for _, ids in profile.switched_off.values() for i in ids}
    for name, (reason, ids) in profile.switched_off.items():
        lines.append(_fit(f"  waiver [{name}] switched off ({', '.join(ids)}): {reason}"))
    for check_id, reason in profile.waivers.items():
        if check_id not in section_ids:
            lines.append(_fit(f"  waiver {check_id}: {reason}"))
    return lines
