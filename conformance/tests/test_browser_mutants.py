"""SPA-BROWSER is proven by its own mutants: it passes on the base image and fails
on an image whose index.html references a missing asset and on one without SPA
fallback. (Those mutants also break SPA-ASSETS / SPA-FALLBACK, so they are not
part of the exactly-one-ID mutant run.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.tests import prereq
from conformance.tests.suite_run import BASE_IMAGE, MUTANTS, SuiteRun, build_mutant, run_suite

pytestmark = [pytest.mark.docker, pytest.mark.browser]

CHECK = "conformance/checks/test_browser.py"
# mutant directory -> a phrase its failure message must contain (the cause, named)
BROWSER_MUTANTS = {
    "SPA-BROWSER-missing-asset": "index-0000dead.js -> 404",
    "SPA-BROWSER-no-fallback": "serve index.html for every client route",
}


@pytest.fixture(scope="module", autouse=True)
def needs_a_browser() -> None:
    prereq.chromium()
    prereq.module("playwright.sync_api", "pip install 'ai-video-conformance[browser]'", "browser")


def browser_check(image: str, report: Path) -> tuple[SuiteRun, dict[str, str]]:
    run = run_suite(image, report, CHECK)
    assert run.report is not None, run.output[-3000:]
    return run, run.check("SPA-BROWSER")


def test_base_image_passes(tmp_path: Path) -> None:
    run, result = browser_check(BASE_IMAGE, tmp_path / "report.json")
    assert result["status"] == "passed", run.output[-3000:]
    shots = sorted(p.name for p in (tmp_path / "spa-browser").glob("*.png"))
    assert len(shots) == 6, shots  # three routes, desktop and phone width


def test_every_browser_mutant_exists() -> None:
    found = {d.name for d in MUTANTS.glob("SPA-BROWSER-*") if (d / "Dockerfile").is_file()}
    assert found == set(BROWSER_MUTANTS)


@pytest.mark.parametrize("name", sorted(BROWSER_MUTANTS))
def test_mutant_fails_the_browser_check(name: str, tmp_path: Path) -> None:
    run, result = browser_check(build_mutant(name), tmp_path / "report.json")
    assert result["status"] == "failed", run.output[-3000:]
    message = result["message"] or ""
    assert "fix:" in message, result
    assert BROWSER_MUTANTS[name] in message, message
    assert run.returncode == 1
