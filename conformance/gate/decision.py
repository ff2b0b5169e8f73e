"""Decide whether a signed attestation lets an image be released (or deployed).

Nothing the attestation says about itself is trusted: its signature must hold
under the releaser's public key, the image must be one of its subjects, and the
green rule (conformance/schema.py) is applied again to the embedded report under
the releaser's policy: every check ID of the contract present and passed, every
waiver, exclusion, skip and profile deviation allowed.

``conformance-gate`` (before a push) and ``conformance-verify`` (at deploy time)
both judge through ``judge_attestation``; only the words for the image differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key

from conformance.attestation import AttestationError, embedded_report, subject_digests, verify
from conformance.gate.errors import Refused
from conformance.schema import MalformedReport, Policy, decide

# How far an attestation got before it was refused: a caller weighing several
# names the furthest one's reason.
SIGNATURE, SUBJECT, REPORT, GREEN = 0, 1, 2, 3
PUSHED = "the image being pushed"


class AttestationRefused(Refused):
    """Refused at ``stage`` (SIGNATURE .. GREEN); the message is the one-line reason."""

    def __init__(self, stage: int, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


@dataclass(frozen=True)
class Verdict:
    """A report that cleared the gate, summarised for the log line."""

    image_id: str
    passed: int
    waived: tuple[str, ...]
    excluded: tuple[str, ...]
    skipped: tuple[str, ...]
    overridden: tuple[str, ...]


def load_envelope(path: Path) -> bytes:
    """The attestation file's bytes, refused unless it is there and holds JSON."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise Refused(
            f"no attestation at {path} (did the conformance run write one with "
            "--conformance-attestation?)"
        ) from None
    except IsADirectoryError:
        raise Refused(f"{path} is a directory, not an attestation") from None
    except OSError as exc:
        raise Refused(f"cannot read the attestation {path}: {exc.strerror or exc}") from None
    try:
        json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(f"the attestation {path} is not valid JSON (truncated?): {exc}") from None
    return content


def judge(report: dict[str, Any], image_id: str, policy: Policy, role: str = PUSHED) -> Verdict:
    """The verdict on a report about ``image_id`` under the releaser's policy, or
    AttestationRefused (stage REPORT or GREEN). The report's own ``green`` is
    ignored: the rule is re-applied. ``role`` names the image in the reasons."""
    try:
        decision = decide(report, policy)
    except MalformedReport as exc:
        raise AttestationRefused(REPORT, f"the attested report is unusable: {exc}") from None
    reported_id = report["image"]["id"]
    if reported_id != image_id:
        raise AttestationRefused(
            REPORT, f"the attested report is about image {reported_id}, not {role} ({image_id})"
        )
    if not decision.green:
        raise AttestationRefused(GREEN, f"report {decision.line()}")
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


def judge_attestation(
    envelope: bytes, image_id: str, key: Key, policy: Policy, role: str = PUSHED
) -> tuple[Verdict, dict[str, Any]]:
    """The verdict and the verified Statement, or AttestationRefused naming the stage
    the envelope failed at: its signature, its subject, its report, the green rule."""
    try:
        statement = verify(envelope, key)
    except AttestationError as exc:
        raise AttestationRefused(SIGNATURE, f"signature invalid: {exc}") from None
    subjects = subject_digests(statement)
    if image_id not in subjects:
        raise AttestationRefused(
            SUBJECT,
            f"subject is another image: the attestation is about image "
            f"{', '.join(sorted(subjects))}, not {role} ({image_id})",
        )
    try:
        report = embedded_report(statement)
    except AttestationError as exc:
        raise AttestationRefused(REPORT, f"the attested report is unusable: {exc}") from None
    return judge(report, image_id, policy, role), statement
