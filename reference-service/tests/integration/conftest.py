"""Shared by the tests against the image: one daemon client, one scratch folder, the tool
containers and one running service for every module that needs no settings of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.container import IMAGE, RunningService, docker_client, run_service
from tests.integration.tools import media_maker, tool_container
from tests.media import Runner


@pytest.fixture(scope="session")
def docker() -> Any:
    return docker_client()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("it")


@pytest.fixture(scope="session")
def tool(docker: Any, workdir: Path) -> Iterator[Runner]:
    """The image's own ffmpeg/ffprobe."""
    with tool_container(docker, IMAGE, workdir) as run:
        yield run


@pytest.fixture(scope="session")
def maker(docker: Any, workdir: Path) -> Iterator[Runner]:
    """Debian's full ffmpeg, for inputs the image's FFmpeg cannot encode."""
    with tool_container(docker, media_maker(docker), workdir) as run:
        yield run


@pytest.fixture(scope="session")
def service(docker: Any) -> Iterator[RunningService]:
    """The image with its default settings."""
    with run_service(docker) as running:
        yield running
