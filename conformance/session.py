"""What one pytest session of the suite holds: settings, containers, results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.container import Lab, RunSpec
from conformance.daemon import DaemonWatch
from conformance.report import ResultBook
from conformance.schema import Policy
from conformance.selection import Selection
from conformance.settings import Resolved


@dataclass
class SuiteState:
    resolved: Resolved | None = None
    client: docker.DockerClient | None = None
    lab: Lab | None = None
    watch: DaemonWatch | None = None  # says when the daemon goes away mid-run
    specs: dict[str, RunSpec] = field(default_factory=dict)
    image_attrs: dict[str, Any] = field(default_factory=dict)
    selected_ids: list[str] = field(default_factory=list)
    book: ResultBook = field(default_factory=ResultBook)
    selection: Selection = field(default_factory=Selection)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_mono: float = field(default_factory=time.monotonic)
    written: list[Path] = field(default_factory=list)
    # What this run accepts besides passed checks: the profile's own waivers, or a policy file.
    policy: Policy = field(default_factory=Policy)
    report: dict[str, Any] | None = None
    signer: Any = None  # signs the attestation (a securesystemslib Signer) when one is asked for
    active: bool = False  # checks were collected and containers may exist
    late_signal: bool = False  # Ctrl-C or SIGTERM came while the session cleaned up


STATE = pytest.StashKey[SuiteState]()
