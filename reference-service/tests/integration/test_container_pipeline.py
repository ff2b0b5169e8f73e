"""End to end against the built image: a generated 5 s 720p clip goes in through the API, the
result comes out and verifies with ffprobe."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.integration.container import RunningService, wait_job
from tests.integration.tools import entries
from tests.media import Runner, make_clip, probe

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def clip_720p(workdir: Path, tool: Runner) -> Path:
    return make_clip(workdir / "clip720.mp4", run=tool, seconds=5, size="1280x720", rate=30)


def test_upload_poll_download_ffprobe(
    service: RunningService, clip_720p: Path, workdir: Path, tool: Runner
) -> None:
    with clip_720p.open("rb") as handle:
        response = httpx.post(
            f"{service.url}/api/v1/videos",
            headers=service.headers,
            files={"file": ("clip720.mp4", handle, "video/mp4")},
            timeout=60,
        )
    assert response.status_code == 202, response.text
    job = wait_job(service.url, response.json()["id"])
    assert job["status"] == "succeeded", job["error"]

    result = workdir / "result.mp4"
    file_url = service.url + job["result"]["file_url"]
    result.write_bytes(httpx.get(file_url, headers=service.headers, timeout=60).content)
    fields = probe(result, run=tool)
    assert fields["streams.stream.0.codec_name"] == "h264"
    assert (fields["streams.stream.0.width"], fields["streams.stream.0.height"]) == (
        "1280",
        "720",
    )
    assert fields["streams.stream.1.codec_name"] == "aac"
    assert abs(float(fields["format.duration"]) - 5.0) < 0.2
    thumbnail_url = service.url + job["result"]["thumbnail_url"]
    thumbnail = httpx.get(thumbnail_url, headers=service.headers, timeout=30)
    assert thumbnail.headers["content-type"] == "image/jpeg"


def test_bad_upload_is_a_clean_4xx(service: RunningService) -> None:
    response = httpx.post(
        f"{service.url}/api/v1/videos",
        headers=service.headers,
        files={"file": ("notes.mp4", b"not a video at all", "video/mp4")},
        timeout=30,
    )
    assert response.status_code in (415, 422)
    assert response.json()["code"] in ("unsupported_media", "invalid_media")


def test_scratch_space_is_empty_and_logs_clean(service: RunningService) -> None:
    assert entries(service.container, "/app/temp") == []
    detailed = httpx.get(f"{service.url}/health/detailed", timeout=30).json()
    assert detailed["status"] == "healthy", detailed
    assert not re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback", service.logs())
