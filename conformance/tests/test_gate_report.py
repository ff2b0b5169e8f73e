"""The gate's decision on report dicts alone: no Docker, no registry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.gate.decision import Policy, evaluate, load_report
from conformance.gate.errors import Refused
from conformance.sealing import KEY_ENV
from conformance.tests.registry import REPORT_KEY, make_report

IMAGE_ID = "sha256:" + "a" * 64
OTHER_ID = "sha256:" + "b" * 64


@pytest.fixture(autouse=True)
def report_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, REPORT_KEY)


def test_a_green_report_passes_and_is_summarised() -> None:
    report = make_report(
        IMAGE_ID,
        {"IMG-USER": "passed", "IMG-SIZE": "waived", "SPA-BROWSER": "skipped"},
        waivers={"IMG-SIZE": "CUDA libraries"},
    )
    policy = Policy(frozenset({"IMG-SIZE"}), frozenset({"SPA-BROWSER"}))
    verdict = evaluate(report, IMAGE_ID, policy)
    assert (verdict.passed, verdict.waived, verdict.skipped) == (1, ("IMG-SIZE",), ("SPA-BROWSER",))


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (make_report(OTHER_ID), "is for image sha256:bbbb"),
        (make_report(IMAGE_ID, {"A": "failed", "B": "error", "C": "failed", "D": "failed"}),
         "not green: A failed, B error, C failed and 1 more"),
        (make_report(IMAGE_ID, {"A": "waived"}), "A waived without a profile waiver"),
        (make_report(IMAGE_ID, {"A": "passed"}, waivers={"B": "why"}), "waives B"),
        (make_report(IMAGE_ID, {"A": "skipped"}), "A skipped"),
        (make_report(IMAGE_ID, green=False), "marks itself not green"),
        (make_report(IMAGE_ID, tool={"name": "something-else"}), "tool.name"),
        (make_report(IMAGE_ID, image={"id": "6b4391ce34ad"}), "not a sha256 image ID"),
        (make_report(IMAGE_ID, checks="all good"), "checks is not a list"),
        (make_report(IMAGE_ID, checks=[{"id": "A", "status": "fine"}]), "has status 'fine'"),
        (make_report(IMAGE_ID, checks=[{"status": "passed"}]), "checks[0] has no id"),
        (make_report(IMAGE_ID, {"A": "passed"}, checks=[{"id": "A", "status": "passed"}] * 2),
         "appear twice: A"),
        (make_report(IMAGE_ID, summary={"total": 3}), "summary lacks integer counts"),
        (make_report(IMAGE_ID, green="yes"), "green is not true/false"),
        (make_report(IMAGE_ID, profile={"waivers": ["IMG-SIZE"]}), "profile.waivers"),
        (make_report(IMAGE_ID, selection={"complete": False, "left_out": {
            "IMG-PORT": "--check IMG-SIZE", "IMG-USER": "-k 'IMG_SIZE'"}}),
         "a selection, not the contract: IMG-PORT, IMG-USER not selected"),
    ],
)  # fmt: skip
def test_refusals(report: dict[str, Any], reason: str) -> None:
    with pytest.raises(Refused, match=re.escape(reason)):
        evaluate(report, IMAGE_ID, Policy())


def test_a_report_without_a_seal_is_refused() -> None:
    report = make_report(IMAGE_ID)
    del report["seal"]
    with pytest.raises(Refused, match="carries no seal"):
        evaluate(report, IMAGE_ID, Policy())


def test_a_plain_seal_passes_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    report = make_report(IMAGE_ID, key=None)
    with pytest.raises(Refused, match=f"{KEY_ENV} is not set"):
        evaluate(report, IMAGE_ID, Policy())
    assert evaluate(report, IMAGE_ID, Policy(require_keyed_seal=False)).passed == 3


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"schema_version": 1, "checks": [', "not valid JSON (truncated?)"),
        ("[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "cannot read the report"),
    ],
)
def test_unreadable_files_are_refused(content: str | bytes, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(Refused, match=re.escape(reason)):
        load_report(path)


def test_a_directory_is_not_a_report(tmp_path: Path) -> None:
    with pytest.raises(Refused, match="is a directory"):
        load_report(tmp_path)


def test_a_written_report_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(make_report(IMAGE_ID)))
    assert evaluate(load_report(path), IMAGE_ID, Policy()).passed == 3
