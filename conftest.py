"""Repository-level pytest wiring.

`pytest --image=IMAGE` from here runs the conformance suite (the plugin is
installed with `pip install -e .`); without an image, a plain `pytest` leaves
the suite's checks alone and runs the tests it is given.
"""

from __future__ import annotations

import pytest

# Not Python test code: build contexts and the frontend's own toolchain.
collect_ignore_glob = ["conformance/tests/mutants/*", "frontend/*"]


def pytest_configure(config: pytest.Config) -> None:
    # The plugin's self-tests run pytest inside pytest. Registered here rather than
    # with `pytest_plugins`, which pytest refuses when this directory is not the rootdir
    # (an editable install collects conformance/checks from other directories).
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
    config.addinivalue_line("markers", "docker: needs the Docker daemon (and images it builds)")
