"""The worked fork examples of docs/forking.md: each shipped profile, against a small
image built here from the reference, passes with exactly the waivers it declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalogue import CHECKS
from conformance.profile import load_profile
from conformance.tests.suite_run import build_image, leftovers, run_suite
from conformance.tests.test_mutants import SLOW

pytestmark = pytest.mark.docker

FORKS = Path(__file__).parent / "forks"
EXAMPLES = Path(__file__).resolve().parents[1] / "profiles" / "examples"
# Beside the mutants (parallel runs) the timing checks stay out; SPA-BROWSER needs the
# browser env.
ELSEWHERE = sorted({*SLOW, "SPA-BROWSER"})


def test_every_example_profile_has_its_image() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.toml")} == {d.name for d in FORKS.iterdir()}


@pytest.mark.parametrize("fork", sorted(p.stem for p in EXAMPLES.glob("*.toml")))
def test_fork_passes_with_exactly_its_declared_waivers(fork: str, tmp_path: Path) -> None:
    profile = EXAMPLES / f"{fork}.toml"
    declared = set(load_profile(profile, set(CHECKS)).waivers)
    image = build_image(FORKS, fork, f"ai-video-fork:{fork}")
    run = run_suite(
        image,
        tmp_path / "report.json",
        f"--conformance-profile={profile}",
        f"--conformance-exclude={','.join(c for c in ELSEWHERE if c not in declared)}",
    )
    assert run.report is not None, run.output[-3000:]
    status = {c["id"]: c["status"] for c in run.report["checks"]}
    waived = {i for i, s in status.items() if s == "waived"}
    assert waived == declared, run.output[-3000:]
    not_passed = {
        i: s for i, s in status.items() if i not in declared | set(ELSEWHERE) and s != "passed"
    }
    assert not_passed == {}, run.output[-3000:]
    assert leftovers(run.pid) == []
