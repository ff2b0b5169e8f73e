"""How a check states its verdict: measured value, threshold, and a fix when it fails."""

from __future__ import annotations

from typing import NoReturn

import pytest

WAIVED_PREFIX = "WAIVED: "
BLOCKED_PREFIX = "blocked by "


def check_id_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("check")
    return str(marker.args[0]) if marker and marker.args else None


class Check:
    """Handed to every check as the ``check`` fixture."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.id = check_id_of(item) or item.name

    def record(self, measured: str, threshold: str | None = None) -> None:
        """What was measured (and against what); shown in every report."""
        props = [p for p in self.item.user_properties if p[0] not in ("measured", "threshold")]
        props.append(("measured", measured))
        if threshold is not None:
            props.append(("threshold", threshold))
        self.item.user_properties[:] = props

    def fail(self, measured: str, expected: str, fix: str) -> NoReturn:
        __tracebackhide__ = True
        self.record(measured, expected)
        pytest.fail(
            f"{self.id}: measured {measured}; expected {expected}.\n  fix: {fix}", pytrace=False
        )

    def expect(self, ok: bool, measured: str, expected: str, fix: str) -> None:
        __tracebackhide__ = True
        if not ok:
            self.fail(measured, expected, fix)
        self.record(measured, expected)


def blocked(by: str, why: str) -> NoReturn:
    """Skip a check whose precondition is another check's failure (that one fails instead)."""
    pytest.skip(f"{BLOCKED_PREFIX}{by}: {why}")
