"""Which checks a run selects: `--check` patterns (IDs or globs), and the record of
everything left out, whatever left it out (`--check`, `-k`, `-m`, `--deselect`, a
path subset, suite.exclude). A run that leaves any check out is a selection: its
report says so and is never releasable."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from conformance.catalogue import CHECKS


class SelectionError(ValueError):
    """A --check pattern that names no check; the message is one line."""


def parse_patterns(raw: list[str] | None) -> list[str]:
    """`--check` values: repeatable, each may hold comma-separated IDs or globs."""
    patterns = [part.strip().upper() for value in raw or [] for part in value.split(",")]
    patterns = [p for p in patterns if p]
    for pattern in patterns:
        if not any(fnmatchcase(check_id, pattern) for check_id in CHECKS):
            raise SelectionError(
                f"--check {pattern} matches no check ID (IDs like IMG-SIZE or globs like "
                "'FS-*'; see docs/checks.md)"
            )
    return patterns


def matches(check_id: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(check_id, pattern) for pattern in patterns)


def keywords(check_id: str) -> set[str]:
    """Names `-k` can match: the ID as written and as an identifier (IMG-SIZE, IMG_SIZE)."""
    return {check_id, check_id.replace("-", "_")}


@dataclass
class Selection:
    """What a run left out, and how."""

    patterns: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # check ID -> how it was left out

    def leave_out(self, check_id: str, how: str) -> None:
        self.left_out.setdefault(check_id, how)

    def as_json(self, ran: set[str]) -> dict[str, object]:
        missing = sorted(set(CHECKS) - ran - set(self.left_out))
        left_out = dict(self.left_out) | dict.fromkeys(missing, "not collected")
        return {
            "complete": not left_out,
            "checks": sorted(self.patterns),
            "left_out": {k: left_out[k] for k in sorted(left_out)},
        }
