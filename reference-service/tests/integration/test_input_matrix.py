"""Every input of tests/input_matrix.py through the image: the outcome docs/service.md states
for it is the outcome seen here (accepted with this codec, size and duration; refused with
this exact error; or a job failing with this reason)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.input_matrix import CASES, Accepted, Fails, InputCase, Refused
from tests.integration.container import RunningService, wait_job
from tests.integration.tools import entries
from tests.media import Runner

pytestmark = pytest.mark.container

DURATION_TOLERANCE = 0.15


def make_input(case: InputCase, run: Runner, workdir: Path) -> Path:
    path = workdir / "matrix" / case.id / case.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    run("ffmpeg", [*case.args, str(path)])
    if case.keep_fraction is not None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * case.keep_fraction)])
    return path


@pytest.fixture(scope="module")
def inputs(workdir: Path, tool: Runner, maker: Runner) -> dict[str, Path]:
    """Every input, made a few at a time: each is a `docker exec` that mostly waits."""
    runners = {"image": tool, "debian": maker}
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = pool.map(lambda case: make_input(case, runners[case.maker], workdir), CASES)
        return {case.id: path for case, path in zip(CASES, made, strict=True)}


def upload(service: RunningService, path: Path) -> httpx.Response:
    with path.open("rb") as handle:
        return httpx.post(
            f"{service.url}/api/v1/videos",
            headers=service.headers,
            files={"file": (path.name, handle, "application/octet-stream")},
            timeout=60,
        )


def ffprobe_json(tool: Runner, path: Path) -> dict[str, Any]:
    args = ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    return dict(json.loads(tool("ffprobe", args)))


def check_result(
    expect: Accepted, job: dict[str, Any], service: RunningService, tool: Runner, folder: Path
) -> None:
    result = folder / "result.mp4"
    file_url = service.url + job["result"]["file_url"]
    result.write_bytes(httpx.get(file_url, headers=service.headers, timeout=60).content)
    probed = ffprobe_json(tool, result)
    videos = [s for s in probed["streams"] if s["codec_type"] == "video"]
    audios = [s for s in probed["streams"] if s["codec_type"] == "audio"]
    assert len(videos) == 1, probed["streams"]
    video = videos[0]
    assert (video["codec_name"], video["pix_fmt"]) == ("h264", "yuv420p")
    # Upright as displayed: the stored frames have the displayed size, nothing rotates them.
    assert (video["width"], video["height"]) == (expect.width, expect.height)
    assert not [d for d in video.get("side_data_list", []) if "rotation" in d], video
    assert [a["codec_name"] for a in audios] == (["aac"] if expect.audio else [])
    assert abs(float(probed["format"]["duration"]) - expect.seconds) <= DURATION_TOLERANCE
    described = job["result"]
    assert (described["width"], described["height"]) == (expect.width, expect.height)
    assert described["video_codec"] == "h264"
    assert described["audio_codec"] == ("aac" if expect.audio else None)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_input(
    case: InputCase,
    service: RunningService,
    inputs: dict[str, Path],
    workdir: Path,
    tool: Runner,
) -> None:
    response = upload(service, inputs[case.id])
    expect = case.expect
    if isinstance(expect, Refused):
        assert response.status_code == expect.status, response.text
        assert response.json() == {"detail": expect.detail, "code": expect.code}
        return
    assert response.status_code == 202, response.text
    job = wait_job(service.url, response.json()["id"], deadline_seconds=120)
    if isinstance(expect, Fails):
        assert job["status"] == "failed", job
        assert expect.pattern().fullmatch(job["error"]), job["error"]
        return
    assert job["status"] == "succeeded", job["error"]
    check_result(expect, job, service, tool, workdir / "matrix" / case.id)


def test_matrix_leaves_no_files_and_no_warnings(service: RunningService) -> None:
    assert entries(service.container, "/app/temp") == []
    assert not re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback", service.logs())
