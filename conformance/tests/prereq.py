"""Prerequisites of the self-tests (Docker images, Chromium, playwright, boto3 and
moto): in the tox env that exists for them, a missing one is an error that says what
to install; elsewhere the test is skipped with the same words."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

from conformance.checks.test_browser import CHROMIUM_HINT, CHROMIUM_NAMES, find_chromium
from conformance.profile import load_profile

# The kinds of prerequisite a tox env exists for, comma-separated: "docker" (the daemon
# and the images it builds), "browser" (Chromium, playwright), "gate" (boto3, moto,
# docker-registry). Set by the image, selftest, browser and gate envs.
REQUIRED_ENV = "TESTS_REQUIRE_PREREQUISITES"


def required(kind: str) -> bool:
    return kind in os.environ.get(REQUIRED_ENV, "").split(",")


def missing(what: str, kind: str = "docker") -> NoReturn:
    __tracebackhide__ = True
    if required(kind):
        pytest.fail(f"{what} (required here: {REQUIRED_ENV} names {kind})", pytrace=False)
    pytest.skip(what, allow_module_level=True)


def chromium() -> str:
    """The Chromium the reference profile's SPA-BROWSER would drive."""
    configured = load_profile(None).spa.browser_executable
    found = find_chromium(configured)
    if found is None:
        missing(
            f"no Chromium: neither {configured} nor {', '.join(CHROMIUM_NAMES)} ({CHROMIUM_HINT})",
            "browser",
        )
    return found


def module(name: str, install: str, kind: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"no Python module {name}: {install}", kind)
