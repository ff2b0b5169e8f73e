"""Every check is proven by an image that violates exactly its rule: the suite,
run against that mutant image, must fail that check ID and no other."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.catalogue import CHECKS
from conformance.tests.suite_run import MUTANTS, build_mutant, leftovers, run_suite

pytestmark = pytest.mark.docker

# Run only against their own mutant: RUN-DOCKER-HEALTHY waits out a real health
# interval; RUN-READY and RUN-LATENCY measure time, which parallel builds and runs
# on a small CI machine distort (the suite's own run of them is not parallel).
SLOW = {"RUN-DOCKER-HEALTHY", "RUN-READY", "RUN-LATENCY"}
# Proven elsewhere: SPA-BROWSER by the browser tests (with their own mutants).
ELSEWHERE = {"SPA-BROWSER"}
# Checks a mutant cannot help failing besides its own, and why.
CONSEQUENCES = {
    # Without USER the image starts as root and must drop privileges itself, which
    # needs CAP_SETUID: the hardened run (--cap-drop ALL) and the compose service
    # (cap_drop: ALL) cannot start it. That is the point of declaring USER.
    "IMG-USER": {"RUN-HARDENED", "DEP-COMPOSE"},
    # The app keeps its job store in the uploads directory and says at start-up, with a
    # WARNING, that it cannot open it: the log is right to be unclean.
    "FS-WRITABLE": {"LOG-CLEAN"},
}


# Mutants whose run mostly waits (a health interval, a timeout, a slow build): they go
# first, so that the other runs fill the CPU while they wait.
WAITS_LONGEST = [
    "RUN-READY", "RUN-DOCKER-HEALTHY", "FS-PYTHON", "RUN-BAD-CONFIG", "RUN-LATENCY",
    "RUN-GRACEFUL-STOP", "RUN-HEALTHCHECK-REAL", "IMG-SIZE", "IMG-LAYERS",
]  # fmt: skip


def mutant_ids() -> list[str]:
    found = [d.name for d in MUTANTS.iterdir() if d.name in CHECKS and (d / "Dockerfile").is_file()]
    first = [i for i in WAITS_LONGEST if i in found]
    return first + sorted(set(found) - set(first))


def _excluded(target: str | None) -> str:
    return ",".join(sorted((SLOW | ELSEWHERE) - {target} if target else SLOW | ELSEWHERE))


def test_every_check_has_a_mutant() -> None:
    missing = set(CHECKS) - set(mutant_ids()) - ELSEWHERE
    assert not missing, f"checks without a mutant image: {sorted(missing)}"


@pytest.mark.parametrize("check_id", mutant_ids())
def test_mutant_fails_exactly_its_check(check_id: str, tmp_path: Path) -> None:
    tag = build_mutant(check_id)
    run = run_suite(tag, tmp_path / "report.json", f"--conformance-exclude={_excluded(check_id)}")
    assert run.report is not None, run.output[-3000:]
    assert run.failing() == {check_id} | CONSEQUENCES.get(check_id, set()), (
        f"mutant {check_id}: failing {sorted(run.failing())}\n{run.output[-3000:]}"
    )
    failed = run.check(check_id)
    assert failed["status"] == "failed"
    assert "fix:" in (failed["message"] or ""), failed
    assert run.returncode == 1
    assert leftovers(run.pid) == [], "the suite left containers behind"
