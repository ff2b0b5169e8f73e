"""Seal a JSON conformance report so the release gate can tell it was not edited.

The seal is a SHA-256 over the report's canonical JSON (sorted keys, no
whitespace, the ``seal`` field itself left out). When a key is configured
(``CONFORMANCE_REPORT_KEY``, e.g. a CI secret) the seal is an HMAC instead, so
only a holder of the key can produce a report the gate accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

KEY_ENV = "CONFORMANCE_REPORT_KEY"


class ReportTampered(ValueError):
    """The report's seal is missing or does not match its content."""


def _canonical(report: dict[str, Any]) -> bytes:
    body = {k: v for k, v in report.items() if k != "seal"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


def _digest(report: dict[str, Any], key: bytes | None) -> dict[str, str]:
    payload = _canonical(report)
    if key:
        mac = hmac.new(key, payload, hashlib.sha256).hexdigest()
        return {"algorithm": "hmac-sha256", "value": mac}
    return {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}


def seal(report: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """Return a copy of ``report`` with its ``seal`` field set."""
    key = key if key is not None else _key_from_env()
    return {**report, "seal": _digest(report, key)}


def verify(report: dict[str, Any], key: bytes | None = None) -> None:
    """Raise ReportTampered unless the report's seal matches its content."""
    key = key if key is not None else _key_from_env()
    found = report.get("seal")
    if not isinstance(found, dict):
        raise ReportTampered("the report carries no seal")
    expected = _digest(report, key)
    if found.get("algorithm") != expected["algorithm"]:
        raise ReportTampered(
            f"the report is sealed with {found.get('algorithm')!r} but {expected['algorithm']!r} "
            f"was expected (is {KEY_ENV} set the same way for the suite and the gate?)"
        )
    if not hmac.compare_digest(str(found.get("value")), expected["value"]):
        raise ReportTampered("the report's content does not match its seal (edited after the run?)")
