"""The worked fork examples of docs/forking.md: each shipped profile, against a small
image built here from the reference, passes with exactly the waivers it declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalogue import CHECKS
from conformance.policy import load_policy
from conformance.profile import load_profile
from conformance.schema import Policy, decide
from conformance.tests.suite_run import build_image, leftovers, run_suite
from conformance.tests.test_mutants import SLOW

pytestmark = pytest.mark.docker

FORKS = Path(__file__).parent / "forks"
EXAMPLES = Path(__file__).resolve().parents[1] / "profiles" / "examples"
# Beside the mutants (parallel runs) the timing checks stay out; SPA-BROWSER needs the
# browser env.
ELSEWHERE = sorted({*SLOW, "SPA-BROWSER"})


POLICY = ".policy.toml"
FORK_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.toml") if not p.name.endswith(POLICY))


def test_every_example_profile_has_its_image_and_policy() -> None:
    assert set(FORK_NAMES) == {d.name for d in FORKS.iterdir()}
    assert {p.name.removesuffix(POLICY) for p in EXAMPLES.glob(f"*{POLICY}")} == set(FORK_NAMES)


@pytest.mark.parametrize("fork", FORK_NAMES)
def test_fork_passes_with_exactly_its_declared_waivers(fork: str, tmp_path: Path) -> None:
    profile = EXAMPLES / f"{fork}.toml"
    declared = set(load_profile(profile, set(CHECKS)).waivers)
    image = build_image(FORKS, fork, f"ai-video-fork:{fork}")
    excluded = [c for c in ELSEWHERE if c not in declared]
    run = run_suite(
        image,
        tmp_path / "report.json",
        f"--conformance-profile={profile}",
        f"--conformance-exclude={','.join(excluded)}",
    )
    assert run.report is not None, run.output[-3000:]
    # Green under the fork's own release policy (plus the checks proven elsewhere), and
    # not without it: its waivers and deviations are exactly what the policy allows.
    policy = load_policy(EXAMPLES / f"{fork}{POLICY}", excludes=excluded)
    assert decide(run.report, policy).green, decide(run.report, policy).line()
    assert not decide(run.report, Policy(excludes=frozenset(excluded))).green
    status = {c["id"]: c["status"] for c in run.report["checks"]}
    waived = {i for i, s in status.items() if s == "waived"}
    assert waived == declared, run.output[-3000:]
    not_passed = {
        i: s for i, s in status.items() if i not in declared | set(ELSEWHERE) and s != "passed"
    }
    assert not_passed == {}, run.output[-3000:]
    assert leftovers(run.pid) == []
