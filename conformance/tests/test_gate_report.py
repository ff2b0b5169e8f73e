"""The gate's decision on report dicts alone: no Docker, no registry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import CHECKS
from conformance.gate.decision import evaluate, load_report
from conformance.gate.errors import Refused
from conformance.schema import Policy
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
        {"IMG-SIZE": "waived", "SPA-BROWSER": "skipped", "DEP-ECS": "excluded"},
        waivers={"IMG-SIZE": "CUDA libraries"},
        deviations=[{"key": "image.max_size_mb", "reference": 500, "value": 900}],
    )
    policy = Policy(
        waivers=frozenset({"IMG-SIZE"}),
        skips=frozenset({"SPA-BROWSER"}),
        excludes=frozenset({"DEP-*"}),
        overrides=frozenset({"image.max_size_mb"}),
    )
    verdict = evaluate(report, IMAGE_ID, policy)
    assert (verdict.passed, verdict.waived, verdict.skipped) == (
        len(CHECKS) - 3,
        ("IMG-SIZE",),
        ("SPA-BROWSER",),
    )
    assert (verdict.excluded, verdict.overridden) == (("DEP-ECS",), ("image.max_size_mb",))


_PARTIAL = make_report(IMAGE_ID, {"IMG-USER": "passed"}, complete=False)
_LOOSENED = [{"key": "image.max_size_mb", "reference": 500, "value": 1e9}]


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (make_report(OTHER_ID), "is for image sha256:bbbb"),
        (make_report(IMAGE_ID, {"IMG-SIZE": "failed", "IMG-PORT": "error", "FF-CODECS": "failed",
                                "RUN-READY": "failed"}),
         "not green: IMG-PORT error, IMG-SIZE failed, FF-CODECS failed and 1 more"),
        (_PARTIAL, f"not green: {len(CHECKS) - 1} checks missing from the report "
                   "(IMG-HEALTHCHECK, IMG-PORT, IMG-EXEC-FORM, IMG-SIZE, IMG-LAYERS, IMG-SECRETS, "
                   f"IMG-LABELS, IMG-WORKDIR and {len(CHECKS) - 9} more)"),
        (make_report(IMAGE_ID, {"IMG-SIZE": "waived"}), "IMG-SIZE waived without a profile waiver"),
        (make_report(IMAGE_ID, {"IMG-SIZE": "waived"}, waivers={"IMG-SIZE": "why"}),
         "IMG-SIZE waived (not allowed: --allow-waiver IMG-SIZE)"),
        (make_report(IMAGE_ID, {"SPA-BROWSER": "skipped"}),
         "SPA-BROWSER skipped (not allowed: --allow-skip SPA-BROWSER)"),
        (make_report(IMAGE_ID, {"FS-FRONTEND": "excluded", "SPA-INDEX": "blocked"}),
         "not green: FS-FRONTEND excluded (not allowed: --allow-exclude FS-FRONTEND), "
         "SPA-INDEX blocked"),
        (make_report(IMAGE_ID, deviations=_LOOSENED),
         "image.max_size_mb overridden 500 -> 1000000000.0 (not allowed: "
         "--allow-override image.max_size_mb)"),
        (make_report(IMAGE_ID, {"NOT-A-CHECK": "passed"}), "NOT-A-CHECK is not in the report's"),
        (make_report(IMAGE_ID, summary=make_report(IMAGE_ID, {"IMG-SIZE": "failed"})["summary"]),
         "the summary does not match"),
        (make_report(IMAGE_ID, tool={"name": "something-else", "version": "1"}), "tool.name"),
        (make_report(IMAGE_ID, tool={"name": "ai-video-conformance"}), "tool.version"),
        (make_report(IMAGE_ID, catalogue=None), "catalogue is not a list"),
        (make_report(IMAGE_ID, schema_version=1), "schema_version is 1, expected 2"),
        (make_report(IMAGE_ID, image={"id": "6b4391ce34ad"}), "not a sha256 image ID"),
        (make_report(IMAGE_ID, checks="all good"), "checks is not a list"),
        (make_report(IMAGE_ID, checks=[{"id": "IMG-SIZE", "status": "fine"}]),
         "has status 'fine'"),
        (make_report(IMAGE_ID, checks=[{"status": "passed"}]), "checks[0] has no id"),
        (make_report(IMAGE_ID, checks=[{"id": "IMG-SIZE", "status": "passed"}] * 2),
         "appear twice: IMG-SIZE"),
        (make_report(IMAGE_ID, summary={"total": 3}), "summary lacks integer counts"),
        (make_report(IMAGE_ID, green="yes"), "green is not true/false"),
        (make_report(IMAGE_ID, profile={"waivers": ["IMG-SIZE"]}), "profile.waivers"),
        (make_report(IMAGE_ID, deviations={"image.max_size_mb": 1e9}), "deviations is not a list"),
    ],
)  # fmt: skip
def test_refusals(report: dict[str, Any], reason: str) -> None:
    with pytest.raises(Refused, match=re.escape(reason)):
        evaluate(report, IMAGE_ID, Policy())


def test_the_reports_own_green_is_not_trusted() -> None:
    # A report that calls itself green with a failure is judged by its checks...
    lying = make_report(IMAGE_ID, {"IMG-SIZE": "failed"}, green=True)
    with pytest.raises(Refused, match="IMG-SIZE failed"):
        evaluate(lying, IMAGE_ID, Policy())
    # ...and one not green under the run's own policy can pass under the releaser's.
    excluded = make_report(IMAGE_ID, {"DEP-ECS": "excluded"}, green=False)
    assert evaluate(excluded, IMAGE_ID, Policy(excludes=frozenset({"DEP-ECS"}))).excluded == (
        "DEP-ECS",
    )


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
    assert evaluate(report, IMAGE_ID, Policy(), require_keyed_seal=False).passed == len(CHECKS)


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
    assert evaluate(load_report(path), IMAGE_ID, Policy()).passed == len(CHECKS)
