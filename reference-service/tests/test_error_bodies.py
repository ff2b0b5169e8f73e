"""Error bodies and failed jobs' `error` say what is wrong in plain words: no server paths,
temp file names, tool stderr or exception reprs (those go to the log)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.jobs.handlers import JobHandlers
from app.main import create_app
from app.services.ffmpeg_runner import MediaToolError, run_tool
from app.storage import LocalJobFiles
from tests.conftest import Api
from tests.fake_replicate import FakeReplicateServer

FORBIDDEN = ("/app/", "/tmp/", ".part", "incoming-", "Traceback", "Errno", "Error(", "stderr")


def assert_plain(text: str, api: Api) -> None:
    """No path-like or tool-internal text in `text`."""
    for marker in (*FORBIDDEN, str(api.settings.temp_dir), str(api.settings.upload_dir)):
        assert marker not in text, f"{marker!r} leaked into {text!r}"


def _truncated(clips: dict[str, Path], folder: Path) -> Path:
    data = clips["moov_at_end"].read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])
    return folder / "cut.mp4"


def _no_frames(clips: dict[str, Path], folder: Path) -> Path:
    """Probes fine (the index is intact) but holds no picture data: FFmpeg itself fails."""
    data = clips["mp4"].read_bytes()
    (folder / "hollow.mp4").write_bytes(data[: data.index(b"mdat") + 20])
    return folder / "hollow.mp4"


BAD_FILES: dict[str, Callable[[dict[str, Path], Path], Path]] = {
    "non-video": lambda _, d: _write(d / "notes.mp4", b"a shopping list\n" * 200),
    "truncated": _truncated,
    "corrupt": lambda _, d: _write(d / "junk.mp4", bytes(range(256)) * 64),
    "unsupported-codec": lambda clips, _: clips["ffv1"],
    "zero-bytes": lambda _, d: _write(d / "empty.mp4", b""),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_upload_errors_name_no_server_paths(
    api: Api, clips: dict[str, Path], tmp_path: Path, case: str
) -> None:
    response = api.upload(BAD_FILES[case](clips, tmp_path))
    assert 400 <= response.status_code < 500, response.text
    assert_plain(response.json()["detail"], api)
    assert_plain(response.text, api)


def test_truncated_upload_is_explained(api: Api, clips: dict[str, Path], tmp_path: Path) -> None:
    detail = api.upload(_truncated(clips, tmp_path)).json()["detail"]
    assert detail.startswith("not a readable video file") and "cut short" in detail


@pytest.mark.parametrize("name", ["/app/temp/incoming-x.part", "../../tmp/clip.mp4", "/tmp/x.mp4"])
def test_path_like_filename_is_not_echoed(api: Api, clips: dict[str, Path], name: str) -> None:
    response = api.upload(clips["mp4"], name=name)
    assert response.status_code == 400
    assert_plain(response.text, api)


def test_oversize_error_is_plain(make_api: Callable[..., Api], clips: dict[str, Path]) -> None:
    api = make_api(max_upload_bytes=10_000)
    response = api.upload(clips["mp4"])
    assert response.status_code == 413
    assert_plain(response.text, api)


def test_malformed_body_error_is_plain(api: Api) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nX\r\n\r\n'
    response = api.client.post(
        "/api/v1/videos", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert_plain(response.text, api)


def test_failed_upload_job_error_is_plain(
    api: Api, clips: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = api.upload(_no_frames(clips, tmp_path))
    assert response.status_code == 202, response.text
    job = api.wait(response.json()["id"])
    assert job["status"] == "failed"
    assert "FFmpeg could not process the video" in job["error"]
    assert_plain(job["error"], api)
    # The tool's own words are kept, for the operator.
    assert any("ffmpeg exited with" in record.getMessage() for record in caplog.records)


def _generate(
    make_api: Callable[..., Api], fake: FakeReplicateServer
) -> tuple[Api, dict[str, Any]]:
    """One generation against the fake Replicate, waited for to its end."""
    api = make_api(
        replicate_api_token="r8_test_token_value",
        replicate_base_url=fake.url,
        replicate_poll_seconds=0.05,
    )
    created = api.client.post("/api/v1/generations", json={"prompt": "a red fox"})
    return api, api.wait(created.json()["id"])


def test_failed_generation_job_error_is_plain(
    make_api: Callable[..., Api], clips: dict[str, Path], tmp_path: Path
) -> None:
    with FakeReplicateServer() as fake:
        fake.behaviour.video = _truncated(clips, tmp_path)
        api, job = _generate(make_api, fake)
    assert job["status"] == "failed"
    assert job["error"].startswith("the model's output is not a usable video: not a readable")
    assert_plain(job["error"], api)


def test_ffmpeg_failure_reason_keeps_stderr_for_the_log(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    missing = tmp_path / "temp" / "incoming-gone.part"
    with pytest.raises(MediaToolError) as caught:
        asyncio.run(run_tool(["ffprobe", "-v", "error", str(missing)], 10))
    assert str(missing) in str(caught.value)  # what the old error bodies leaked
    settings = make_settings()
    files = LocalJobFiles(settings.temp_dir, settings.upload_dir)
    handlers = JobHandlers(settings, files, generator=None)
    failed = handlers._ffmpeg_failed(caught.value)
    assert str(missing) not in str(failed) and ".part" not in str(failed)
    assert failed.diagnostic is not None and str(missing) in failed.diagnostic


def test_download_failure_is_plain(make_api: Callable[..., Api], clips: dict[str, Path]) -> None:
    with FakeReplicateServer() as fake:
        fake.behaviour.output = "http://127.0.0.1:9/nothing-listens-here.mp4"
        _, job = _generate(make_api, fake)
    assert job["status"] == "failed"
    assert job["error"] == "the generated video could not be downloaded (connection failed)"


def test_unexpected_exception_is_a_plain_json_500(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_settings())
    with TestClient(app, raise_server_exceptions=False) as client:

        async def broken(*_: object) -> None:
            raise OSError(2, "No such file or directory", "/app/uploads/jobs.sqlite3")

        monkeypatch.setattr(app.state.worker.store, "page", broken)
        response = client.get("/api/v1/jobs")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "/app/" not in response.text and "Errno" not in response.text
