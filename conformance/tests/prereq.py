"""Prerequisites of the self-tests (Chromium, playwright, boto3 and moto): in the tox
env that exists for a test, a missing one is an error that says what to install;
elsewhere the test is skipped with the same words."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

from conformance.checks.test_browser import CHROMIUM_HINT, CHROMIUM_NAMES, find_chromium
from conformance.profile import load_profile

# Set to 1 by the tox envs whose point is these tests (image, selftest, browser, gate).
REQUIRED_ENV = "TESTS_REQUIRE_PREREQUISITES"


def required() -> bool:
    return os.environ.get(REQUIRED_ENV) == "1"


def missing(what: str) -> NoReturn:
    __tracebackhide__ = True
    if required():
        pytest.fail(f"{what} (required here: {REQUIRED_ENV}=1)", pytrace=False)
    pytest.skip(what, allow_module_level=True)


def chromium() -> str:
    """The Chromium the reference profile's SPA-BROWSER would drive."""
    configured = load_profile(None).spa.browser_executable
    found = find_chromium(configured)
    if found is None:
        missing(
            f"no Chromium: neither {configured} nor {', '.join(CHROMIUM_NAMES)} ({CHROMIUM_HINT})"
        )
    return found


def module(name: str, install: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"no Python module {name}: {install}")
