"""Every bad input is a 4xx with a JSON reason, and nothing is left in TEMP_DIR."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.api.upload_stream import check_filename
from app.core.errors import ApiError
from tests.conftest import Api


def assert_rejected(api: Api, response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["detail"]
    assert api.leftovers() == []
    assert api.client.get("/api/v1/jobs").json()["total"] == 0


def test_non_video_file(api: Api, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is a shopping list, not a video\n" * 50)
    response = api.upload(text)
    assert response.status_code in (415, 422)
    assert response.json()["code"] in ("unsupported_media", "invalid_media")
    assert api.leftovers() == []


def test_image_is_not_a_video(api: Api, tmp_path: Path) -> None:
    from tests.media import host_tool

    image = tmp_path / "still.png"
    host_tool(
        "ffmpeg",
        [
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64:duration=1",
            "-frames:v",
            "1",
            str(image),
        ],
    )
    assert_rejected(api, api.upload(image), 415, "unsupported_media")


def test_zero_bytes(api: Api, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert_rejected(api, api.upload(empty), 400, "empty_file")


def test_truncated_file(api: Api, clips: dict[str, Path], tmp_path: Path) -> None:
    data = clips["moov_at_end"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    response = api.upload(cut)
    assert_rejected(api, response, 422, "invalid_media")
    assert "cut short" in response.json()["detail"]


def test_corrupt_bytes(api: Api, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 64)
    response = api.upload(junk)
    assert response.status_code in (415, 422)
    assert api.leftovers() == []


def test_unsupported_codec(api: Api, clips: dict[str, Path]) -> None:
    response = api.upload(clips["ffv1"])
    assert_rejected(api, response, 415, "unsupported_media")
    assert "ffv1" in response.json()["detail"]


def test_oversize_upload_is_cut_off(make_api: Callable[..., Api], clips: dict[str, Path]) -> None:
    api = make_api(max_upload_bytes=10_000)
    assert_rejected(api, api.upload(clips["mp4"]), 413, "payload_too_large")


def test_oversize_without_content_length(
    make_api: Callable[..., Api], clips: dict[str, Path]
) -> None:
    api = make_api(max_upload_bytes=10_000)
    boundary = "b0undary"
    payload = clips["mp4"].read_bytes()

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for start in range(0, len(payload), 4096):
            yield payload[start : start + 4096]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = api.client.post(
        "/api/v1/videos",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_rejected(api, response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a/b.mp4", "..", "/etc/passwd", "dir\\clip.mp4"]
)
def test_path_like_filename(api: Api, clips: dict[str, Path], name: str) -> None:
    assert_rejected(api, api.upload(clips["mp4"], name=name), 400, "invalid_filename")


@pytest.mark.parametrize("name", ["", ".", "evil\x01.mp4", "x" * 300, "a\\b"])
def test_filename_rules(name: str) -> None:
    with pytest.raises(ApiError) as caught:
        check_filename(name)
    assert caught.value.code == "invalid_filename"
    assert check_filename("my clip (1).mp4") == "my clip (1).mp4"


def test_not_multipart(api: Api) -> None:
    response = api.client.post(
        "/api/v1/videos", content=b"raw", headers={"Content-Type": "video/mp4"}
    )
    assert_rejected(api, response, 415, "unsupported_media")


def test_missing_file_field(api: Api) -> None:
    response = api.client.post("/api/v1/videos", files={"other": ("x.mp4", b"data")})
    assert_rejected(api, response, 422, "invalid_request")
    plain = api.client.post("/api/v1/videos", files={"file": (None, b"not a file")})
    assert_rejected(api, plain, 422, "invalid_request")


def test_client_mistakes_log_nothing_above_info(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    api.upload(empty)
    api.client.get("/api/v1/videos/" + "0" * 32)
    api.client.post("/api/v1/generations", json={"prompt": ""})
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
