"""Every check is proven by an image that violates exactly its rule: the suite,
run against that mutant image, must fail that check ID and no other.

A mutant lives in mutants/<ID>/ or, when one rule has more than one way to be broken
(a vacuous pass closed later gets its own mutant), in mutants/<ID>--<what>/. A mutant
directory may hold a profile.toml: the suite then runs with it, for a violation that
lives in a deployment artifact rather than in the image (a crafted compose file).

"No other" is checked over the mutant's scope: every check that looks only at the
containers the mutant's own check starts anyway (or at none: the image's config and
files). A fault spills over first to checks that share its container, and those run;
a check on a container the mutant's check never starts would only repeat, at the
cost of that container, what the reference image's own run shows. SELFTEST_SCOPE=suite
runs the whole suite against every mutant instead (GitHub CI's selftest shards do)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance.catalogue import CHECKS
from conformance.tests.suite_run import MUTANTS, build_mutant, leftovers, run_suite
from conformance.variants import VARIANTS

pytestmark = pytest.mark.docker

# Run only against their own mutant: RUN-DOCKER-HEALTHY waits out a real health
# interval; RUN-READY and RUN-LATENCY measure time, which parallel builds and runs
# on a small CI machine distort (the suite's own run of them is not parallel);
# DEP-COMPOSE-FULL brings up a whole stack (about a minute).
SLOW = {"RUN-DOCKER-HEALTHY", "RUN-READY", "RUN-LATENCY", "DEP-COMPOSE-FULL"}
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
    "DEP-COMPOSE-FULL", "RUN-READY", "RUN-DOCKER-HEALTHY", "FS-PYTHON", "RUN-BAD-CONFIG",
    "RUN-LATENCY",
    "RUN-GRACEFUL-STOP", "RUN-HEALTHCHECK-REAL", "IMG-SIZE", "IMG-LAYERS",
]  # fmt: skip


# mutants/<ID>--<what>/: a further mutant of the same check.
SEPARATOR = "--"
PROFILE = "profile.toml"


def check_of(name: str) -> str | None:
    """The check ID a mutant directory proves, or None (shared files, browser mutants)."""
    check_id = name.split(SEPARATOR, 1)[0]
    return check_id if check_id in CHECKS and check_id not in ELSEWHERE else None


def mutant_ids() -> list[str]:
    """Mutant directory names, the longest waits first."""
    found = [d.name for d in MUTANTS.iterdir() if check_of(d.name) and (d / "Dockerfile").is_file()]
    first = sorted((n for n in found if check_of(n) in WAITS_LONGEST), key=_wait_rank)
    return first + sorted(set(found) - set(first))


def _wait_rank(name: str) -> tuple[int, str]:
    return WAITS_LONGEST.index(str(check_of(name))), name


def _excluded(target: str | None) -> str:
    return ",".join(sorted((SLOW | ELSEWHERE) - {target} if target else SLOW | ELSEWHERE))


def containers_of(check_ids: set[str]) -> set[str]:
    """The containers a run of these checks starts (a variant that waits for the app
    to serve starts the app too)."""
    names = {v.name for v in VARIANTS if check_ids & set(v.checks)}
    if any(v.after_app for v in VARIANTS if v.name in names):
        names.add("app")
    return names


def scope(check_id: str) -> set[str]:
    """The checks a mutant's run includes: its own, the consequences it cannot help
    having, and every check that needs no container beyond the ones those start."""
    own = {check_id} | CONSEQUENCES.get(check_id, set())
    started = containers_of(own)
    return {c for c in CHECKS if containers_of({c}) <= started and c not in SLOW | ELSEWHERE} | own


def selection(check_id: str) -> list[str]:
    """The suite's arguments that select a mutant's run."""
    if os.environ.get("SELFTEST_SCOPE", "mutant") == "suite":
        return [f"--conformance-exclude={_excluded(check_id)}"]
    return [f"--check={c}" for c in sorted(scope(check_id))]


def test_every_check_has_a_mutant() -> None:
    missing = set(CHECKS) - {check_of(name) for name in mutant_ids()} - ELSEWHERE
    assert not missing, f"checks without a mutant image: {sorted(missing)}"


def test_every_mutant_directory_names_a_check() -> None:
    """A misspelt directory (one dash instead of two) would silently prove nothing."""
    stray = [
        d.name
        for d in MUTANTS.iterdir()
        if d.is_dir()
        and not d.name.startswith(("_", "SPA-BROWSER-"))  # shared files; browser tests
        and (check_of(d.name) is None or not (d / "Dockerfile").is_file())
    ]
    assert not stray, f"mutant directories that name no check ID: {stray}"


def test_a_mutant_scope_holds_its_check_and_every_check_on_its_containers() -> None:
    """The scope is derived from the variant table (kept honest by its own self-test):
    an app mutant's run includes every check on the app, a mutant of the image's config
    starts no container, and the expected consequences always run."""
    assert {"RUN-STARTS", "SPA-INDEX", "LOG-CLEAN", "SEC-HEADERS"} <= scope("SPA-INDEX")
    assert containers_of(scope("SPA-INDEX")) == {"app"}
    assert containers_of(scope("IMG-SIZE")) == set() and "FS-SETUID" in scope("IMG-SIZE")
    assert {"IMG-USER", "RUN-HARDENED", "DEP-COMPOSE"} <= scope("IMG-USER")
    assert "RUN-READY" in scope("RUN-READY") and "RUN-READY" not in scope("SPA-INDEX")
    assert all(check_of(m) in scope(str(check_of(m))) for m in mutant_ids())


@pytest.mark.parametrize("mutant", mutant_ids())
def test_mutant_fails_exactly_its_check(mutant: str, tmp_path: Path) -> None:
    check_id = str(check_of(mutant))
    tag = build_mutant(mutant)
    args = selection(check_id)
    if (MUTANTS / mutant / PROFILE).is_file():
        args.append(f"--conformance-profile={MUTANTS / mutant / PROFILE}")
    run = run_suite(tag, tmp_path / "report.json", *args)
    assert run.report is not None, run.output[-3000:]
    assert run.failing() == {check_id} | CONSEQUENCES.get(check_id, set()), (
        f"mutant {mutant}: failing {sorted(run.failing())}\n{run.output[-3000:]}"
    )
    failed = run.check(check_id)
    assert failed["status"] == "failed"
    assert "fix:" in (failed["message"] or ""), failed
    assert run.returncode != 0  # a failing run; the exact code is the plugin's business
    assert leftovers(run.pid) == [], "the suite left containers behind"
