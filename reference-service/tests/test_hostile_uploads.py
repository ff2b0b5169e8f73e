"""Hostile multipart uploads: each is a clear 4xx JSON error, nothing lands outside
TEMP_DIR/UPLOAD_DIR and no temp file is left behind."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.api import upload_stream
from tests.conftest import Api, LiveService

BOUNDARY = "hostile-boundary"


def multipart(
    payload: bytes, disposition: bytes, *, close: bool = True, content_type: bytes = b"video/mp4"
) -> bytes:
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; ".encode()
        + disposition
        + b"\r\nContent-Type: "
        + content_type
        + b"\r\n\r\n"
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode() if close else b""
    return head + payload + tail


def post_raw(api: Api, body: bytes, content_type: str | None = None) -> httpx.Response:
    return api.client.post(
        "/api/v1/videos",
        content=body,
        headers={"Content-Type": content_type or f"multipart/form-data; boundary={BOUNDARY}"},
    )


def files_outside_the_service_dirs(root: Path, api: Api) -> list[str]:
    allowed = (api.settings.temp_dir, api.settings.upload_dir)
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and not any(path.is_relative_to(folder) for folder in allowed)
    )


def assert_clean_rejection(
    api: Api, response: httpx.Response, status: int, code: str, root: Path
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == code
    assert "\n" not in body["detail"] and body["detail"]
    assert api.leftovers() == []
    assert files_outside_the_service_dirs(root, api) == []
    assert api.client.get("/api/v1/jobs").json()["total"] == 0


@pytest.mark.parametrize(
    "filename",
    [
        b"../../escaped.mp4",
        b"..\\..\\escaped.mp4",
        b"/tmp/escaped.mp4",
        b"a\x00b.mp4",
        b"clip\r.mp4",
        b"x" * 256 + b".mp4",
        "ü".encode() * 200,  # 200 characters but 400 bytes: the limit counts characters
    ],
    ids=["dotdot", "backslashes", "absolute", "nul", "carriage-return", "long", "long-unicode"],
)
def test_hostile_file_names_are_refused(
    api: Api, clips: dict[str, Path], tmp_path: Path, filename: bytes
) -> None:
    disposition = b'name="file"; filename="' + filename + b'"'
    response = post_raw(api, multipart(clips["mp4"].read_bytes(), disposition))
    if filename == "ü".encode() * 200:
        assert response.status_code == 202, response.text  # long in bytes, fine in characters
        assert response.json()["input"]["filename"] == "ü" * 200
        api.wait(response.json()["id"])
        return
    # A bare CR breaks the part's header framing itself, before the name is read.
    code = "bad_request" if b"\r" in filename else "invalid_filename"
    assert_clean_rejection(api, response, 400, code, tmp_path)
    assert not (tmp_path / "escaped.mp4").exists() and not Path("/tmp/escaped.mp4").exists()


def test_unicode_file_name_is_kept_for_display(api: Api, clips: dict[str, Path]) -> None:
    name = "plage à Nice — 夏 🎬.mp4"
    response = api.upload(clips["mp4"], name=name)
    assert response.status_code == 202, response.text
    job = api.wait(response.json()["id"])
    assert job["status"] == "succeeded" and job["input"]["filename"] == name
    assert api.leftovers() == []


def test_body_without_its_closing_boundary(
    api: Api, clips: dict[str, Path], tmp_path: Path
) -> None:
    data = clips["mp4"].read_bytes()
    for payload in (data, data[: len(data) // 2]):
        body = multipart(payload, b'name="file"; filename="a.mp4"', close=False)
        response = post_raw(api, body)
        assert_clean_rejection(api, response, 400, "incomplete_body", tmp_path)


def test_body_cut_inside_the_part_headers(api: Api, tmp_path: Path) -> None:
    body = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fi'.encode()
    assert_clean_rejection(api, post_raw(api, body), 400, "incomplete_body", tmp_path)


def test_body_without_the_file_field(api: Api, tmp_path: Path) -> None:
    body = multipart(b"hello", b'name="comment"', content_type=b"text/plain")
    assert_clean_rejection(api, post_raw(api, body), 422, "invalid_request", tmp_path)
    empty = f"--{BOUNDARY}--\r\n".encode()
    assert_clean_rejection(api, post_raw(api, empty), 422, "invalid_request", tmp_path)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/octet-stream", "multipart/form-data", "text/plain"],
)
def test_wrong_content_type(
    api: Api, clips: dict[str, Path], tmp_path: Path, content_type: str
) -> None:
    body = multipart(clips["mp4"].read_bytes(), b'name="file"; filename="a.mp4"')
    response = post_raw(api, body, content_type=content_type)
    assert_clean_rejection(api, response, 415, "unsupported_media", tmp_path)


def test_garbage_framing(api: Api, tmp_path: Path) -> None:
    body = f"--{BOUNDARY}\r\nnot a header line\r\n\r\nxyz\r\n--{BOUNDARY}--\r\n".encode()
    assert_clean_rejection(api, post_raw(api, body), 400, "bad_request", tmp_path)


def test_client_that_hangs_up_mid_upload_leaves_nothing(
    live_service: Callable[..., LiveService], clips: dict[str, Path], tmp_path: Path
) -> None:
    service = live_service()
    temp = tmp_path / "temp"
    data = clips["mp4"].read_bytes()
    body = multipart(data, b'name="file"; filename="a.mp4"')
    head = (
        f"POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", service.port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        # Wait until the server has started writing the part, then hang up.
        deadline = time.monotonic() + 10
        while not any(temp.glob("incoming-*")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(temp.glob("incoming-*")), "the upload never reached TEMP_DIR"
    deadline = time.monotonic() + 10
    while any(temp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(temp.iterdir()) == []
    assert httpx.get(f"{service.url}/api/v1/jobs").json()["total"] == 0
    code, out, err = service.stop()
    assert code == 0
    assert "Traceback" not in out + err and " ERROR " not in out + err


def test_disk_full_is_507_and_leaves_nothing(
    api: Api, clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = upload_stream._State.headers_finished

    def onto_a_full_disk(state: upload_stream._State) -> None:
        original(state)
        if state.handle is not None:
            state.handle.close()
            # /dev/full fails every write with ENOSPC, as a full TEMP_DIR would.
            state.handle = open("/dev/full", "wb", buffering=0)  # noqa: SIM115

    monkeypatch.setattr(upload_stream._State, "headers_finished", onto_a_full_disk)
    response = api.upload(clips["mp4"])
    assert_clean_rejection(api, response, 507, "insufficient_storage", tmp_path)
    assert "/dev/full" not in response.text
