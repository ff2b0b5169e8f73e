"""The gate's decision on reports and attestations alone: no Docker, no registry."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.attestation import canonical_json, make_statement, sign
from conformance.catalogue import CHECKS
from conformance.gate.decision import (
    GREEN,
    REPORT,
    SIGNATURE,
    SUBJECT,
    AttestationRefused,
    judge,
    judge_attestation,
    load_envelope,
)
from conformance.gate.errors import Refused
from conformance.schema import Policy
from conformance.tests.registry import Keys, keys, make_attestation, make_report, other_keys

__all__ = ["keys", "other_keys"]  # fixtures used by name

IMAGE_ID = "sha256:" + "a" * 64
OTHER_ID = "sha256:" + "b" * 64


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
    verdict = judge(report, IMAGE_ID, policy)
    assert (verdict.passed, verdict.waived, verdict.skipped) == (
        len(CHECKS) - 3,
        ("IMG-SIZE",),
        ("SPA-BROWSER",),
    )
    assert (verdict.excluded, verdict.overridden) == (("DEP-ECS",), ("image.max_size_mb",))


_PARTIAL = make_report(IMAGE_ID, {"IMG-USER": "passed"}, complete=False)
_LOOSENED = [{"key": "image.max_size_mb", "reference": 500, "value": 1e9}]


@pytest.mark.parametrize(
    ("report", "stage", "reason"),
    [
        (make_report(OTHER_ID), REPORT,
         f"the attested report is about image {OTHER_ID}, not the image being pushed "
         f"({IMAGE_ID})"),
        (make_report(IMAGE_ID, {"IMG-SIZE": "failed", "IMG-PORT": "error", "FF-CODECS": "failed",
                                "RUN-READY": "failed"}), GREEN,
         "report not green: IMG-PORT error, IMG-SIZE failed, FF-CODECS failed and 1 more"),
        (_PARTIAL, GREEN, f"not green: {len(CHECKS) - 1} checks missing from the report "
                   "(IMG-HEALTHCHECK, IMG-PORT, IMG-EXEC-FORM, IMG-SIZE, IMG-LAYERS, IMG-SECRETS, "
                   f"IMG-LABELS, IMG-WORKDIR and {len(CHECKS) - 9} more)"),
        (make_report(IMAGE_ID, {"IMG-SIZE": "waived"}), GREEN,
         "IMG-SIZE waived without a profile waiver"),
        (make_report(IMAGE_ID, {"IMG-SIZE": "waived"}, waivers={"IMG-SIZE": "why"}), GREEN,
         "IMG-SIZE waived (not allowed: --allow-waiver IMG-SIZE)"),
        (make_report(IMAGE_ID, {"SPA-BROWSER": "skipped"}), GREEN,
         "SPA-BROWSER skipped (not allowed: --allow-skip SPA-BROWSER)"),
        (make_report(IMAGE_ID, {"FS-FRONTEND": "excluded", "SPA-INDEX": "blocked"}), GREEN,
         "not green: SPA-INDEX blocked, FS-FRONTEND excluded (not allowed: "
         "--allow-exclude FS-FRONTEND)"),
        (make_report(IMAGE_ID, deviations=_LOOSENED), GREEN,
         "image.max_size_mb overridden 500 -> 1000000000.0 (not allowed: "
         "--allow-override image.max_size_mb)"),
        (make_report(IMAGE_ID, {"NOT-A-CHECK": "passed"}), GREEN,
         "NOT-A-CHECK is not in the report's"),
        (make_report(IMAGE_ID, summary=make_report(IMAGE_ID, {"IMG-SIZE": "failed"})["summary"]),
         GREEN, "the summary does not match"),
        (make_report(IMAGE_ID, tool={"name": "something-else", "version": "1"}), REPORT,
         "the attested report is unusable: the report is malformed: tool.name"),
        (make_report(IMAGE_ID, tool={"name": "ai-video-conformance"}), REPORT, "tool.version"),
        (make_report(IMAGE_ID, catalogue=None), REPORT, "catalogue is not a list"),
        (make_report(IMAGE_ID, schema_version=1), REPORT, "schema_version is 1, expected 2"),
        (make_report(IMAGE_ID, image={"id": "6b4391ce34ad"}), REPORT, "not a sha256 image ID"),
        (make_report(IMAGE_ID, checks="all good"), REPORT, "checks is not a list"),
        (make_report(IMAGE_ID, checks=[{"id": "IMG-SIZE", "status": "fine"}]), REPORT,
         "has status 'fine'"),
        (make_report(IMAGE_ID, checks=[{"status": "passed"}]), REPORT, "checks[0] has no id"),
        (make_report(IMAGE_ID, checks=[{"id": "IMG-SIZE", "status": "passed"}] * 2), REPORT,
         "appear twice: IMG-SIZE"),
        (make_report(IMAGE_ID, summary={"total": 3}), REPORT, "summary lacks integer counts"),
        (make_report(IMAGE_ID, green="yes"), REPORT, "green is not true/false"),
        (make_report(IMAGE_ID, profile={"waivers": ["IMG-SIZE"]}), REPORT, "profile.waivers"),
        (make_report(IMAGE_ID, deviations={"image.max_size_mb": 1e9}), REPORT,
         "deviations is not a list"),
    ],
)  # fmt: skip
def test_refusals(report: dict[str, Any], stage: int, reason: str) -> None:
    with pytest.raises(AttestationRefused, match=re.escape(reason)) as refused:
        judge(report, IMAGE_ID, Policy())
    assert refused.value.stage == stage
    assert "\n" not in refused.value.reason


def test_the_reports_own_green_is_not_trusted() -> None:
    # A report that calls itself green with a failure is judged by its checks...
    lying = make_report(IMAGE_ID, {"IMG-SIZE": "failed"}, green=True)
    with pytest.raises(Refused, match="IMG-SIZE failed"):
        judge(lying, IMAGE_ID, Policy())
    # ...and one not green under the run's own policy can pass under the releaser's.
    excluded = make_report(IMAGE_ID, {"DEP-ECS": "excluded"}, green=False)
    assert judge(excluded, IMAGE_ID, Policy(excludes=frozenset({"DEP-ECS"}))).excluded == (
        "DEP-ECS",
    )


# --- attestations: the same rule behind a signature and a subject ----------------------


def test_a_signed_green_report_passes_with_its_statement(keys: Keys) -> None:
    report = make_report(IMAGE_ID)
    verdict, statement = judge_attestation(
        keys.sign(report), IMAGE_ID, keys.signer.public_key, Policy()
    )
    assert verdict.passed == len(CHECKS)
    assert statement["subject"][0]["digest"] == {"sha256": "a" * 64}


def _edited(keys: Keys) -> bytes:
    """A red report's envelope whose payload was made green after signing."""
    envelope = json.loads(keys.sign(make_report(IMAGE_ID, {"FF-CODECS": "failed"})))
    green = make_statement(make_report(IMAGE_ID))
    envelope["payload"] = base64.b64encode(canonical_json(green)).decode()
    return json.dumps(envelope).encode()


def _report_about_another_image(keys: Keys) -> bytes:
    """Signed, with this image as subject, but the report inside is about another."""
    statement = make_statement(make_report(OTHER_ID))
    statement["subject"].append({"name": "x", "digest": {"sha256": "a" * 64}})
    return sign(statement, keys.signer)


@pytest.mark.parametrize(
    ("make", "stage", "reason"),
    [
        (_edited, SIGNATURE, "signature invalid: the attestation's signature does not match "
                             "its content (edited after signing?)"),
        (lambda k: b"{}", SIGNATURE, "signature invalid: the attestation is not a DSSE envelope"),
        (lambda k: k.sign(make_report(OTHER_ID)), SUBJECT,
         f"subject is another image: the attestation is about image {OTHER_ID}, not the image "
         f"being pushed ({IMAGE_ID})"),
        (_report_about_another_image, REPORT,
         f"the attested report is about image {OTHER_ID}, not the image being pushed"),
        (lambda k: k.sign(make_report(IMAGE_ID, {"RUN-READY": "error"})), GREEN,
         "report not green: RUN-READY error"),
    ],
)  # fmt: skip
def test_attestation_refusals_name_their_stage(
    make: Any, stage: int, reason: str, keys: Keys
) -> None:
    with pytest.raises(AttestationRefused) as refused:
        judge_attestation(make(keys), IMAGE_ID, keys.signer.public_key, Policy())
    assert (refused.value.stage, refused.value.reason[: len(reason)]) == (stage, reason)


def test_another_keys_attestation_is_refused(keys: Keys, other_keys: Keys) -> None:
    with pytest.raises(AttestationRefused, match="signed by another key") as refused:
        judge_attestation(
            other_keys.sign(make_report(IMAGE_ID)), IMAGE_ID, keys.signer.public_key, Policy()
        )
    assert refused.value.stage == SIGNATURE


def test_the_words_for_the_image_are_the_callers(keys: Keys) -> None:
    with pytest.raises(AttestationRefused, match=re.escape(f"not this image ({IMAGE_ID})")):
        judge_attestation(
            keys.sign(make_report(OTHER_ID)), IMAGE_ID, keys.signer.public_key, Policy(),
            role="this image",
        )  # fmt: skip


# --- the attestation file ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"payload": "eyJ", "payloadType": ', "is not valid JSON (truncated?)"),
        (b"\xff\xfe", "is not valid JSON"),
    ],
)
def test_unreadable_files_are_refused(content: str | bytes, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "attestation.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(Refused, match=re.escape(reason)):
        load_envelope(path)


def test_a_missing_file_or_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Refused, match=r"no attestation at .* --conformance-attestation"):
        load_envelope(tmp_path / "never-written.json")
    with pytest.raises(Refused, match="is a directory, not an attestation"):
        load_envelope(tmp_path)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "attestation.json"
    path.write_text("{}")
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        pass
    else:  # root reads anything: nothing to show
        pytest.skip("running as root: the file is readable anyway")
    with pytest.raises(Refused, match=r"cannot read the attestation .*: Permission denied"):
        load_envelope(path)


def test_a_written_attestation_loads_back(keys: Keys, tmp_path: Path) -> None:
    path = tmp_path / "attestation.json"
    path.write_bytes(make_attestation(make_report(IMAGE_ID), keys.signer))
    verdict, _ = judge_attestation(load_envelope(path), IMAGE_ID, keys.signer.public_key, Policy())
    assert verdict.passed == len(CHECKS)
