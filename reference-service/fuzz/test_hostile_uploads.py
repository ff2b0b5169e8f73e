"""Hostile uploads sent to the same container as the fuzzer, each one written out (a
generator would rarely make them): each answer is a status the OpenAPI document lists for
POST /api/v1/videos, in the documented error shape, and no job and no temp file is left."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from fuzz.conftest import MAX_UPLOAD_BYTES
from tests.integration.container import RunningService

BOUNDARY = "fuzz-hostile-boundary"
UPLOAD = "/api/v1/videos"


def multipart(name: bytes, payload: bytes, *, part_type: bytes = b"video/mp4") -> bytes:
    return (
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\nContent-Type: '
        + part_type
        + b"\r\n\r\n"
        + payload
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def post(service: RunningService, body: bytes, content_type: str | None = None) -> httpx.Response:
    headers = {
        **service.headers,
        "Content-Type": content_type or f"multipart/form-data; boundary={BOUNDARY}",
    }
    return httpx.post(f"{service.url}{UPLOAD}", content=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def documented(service: RunningService) -> set[int]:
    document = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
    return {int(status) for status in document["paths"][UPLOAD]["post"]["responses"]}


@pytest.fixture
def unchanged(service: RunningService) -> Any:
    """Fails the test if it created a job or left a file in the container's TEMP_DIR."""
    before = job_count(service)
    yield
    assert job_count(service) == before, "a rejected upload created a job"
    assert temp_files(service) == [], "a rejected upload left a temp file"


def job_count(service: RunningService) -> int:
    response = httpx.get(f"{service.url}/api/v1/jobs", headers=service.headers, timeout=10)
    total: int = response.json()["total"]
    return total


def temp_files(service: RunningService) -> list[str]:
    # Incoming uploads are written to TEMP_DIR's top level until they are probed.
    script = (
        "import json, os; from app.core.config import Settings; d = Settings().temp_dir; "
        "print(json.dumps([n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))]))"
    )
    code, output = service.container.exec_run(["python", "-c", script])
    assert code == 0, output
    names: list[str] = json.loads(output)
    return names


def assert_rejected(response: httpx.Response, status: int, code: str, documented: set[int]) -> None:
    assert response.status_code == status, response.text
    assert status in documented, f"{status} is not documented for POST {UPLOAD}"
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == code and body["detail"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "video/mp4", "multipart/form-data", "multipart/mixed"],
)
def test_wrong_content_type(
    service: RunningService, clips_dir: Path, content_type: str, documented: set[int]
) -> None:
    # A real clip, sent raw or without a usable multipart boundary.
    body = (clips_dir / "tiny.mp4").read_bytes()
    assert_rejected(post(service, body, content_type), 415, "unsupported_media", documented)


@pytest.mark.usefixtures("unchanged")
def test_empty_file(service: RunningService, documented: set[int]) -> None:
    assert_rejected(post(service, multipart(b"empty.mp4", b"")), 400, "empty_file", documented)


@pytest.mark.usefixtures("unchanged")
def test_huge_declared_size_is_refused_before_the_body(
    service: RunningService, documented: set[int]
) -> None:
    # A Content-Length far past the limit with only a few bytes behind it: the answer
    # comes from the header alone (httpx cannot send a length that lies; http.client can).
    address = urlsplit(service.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest("POST", UPLOAD)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
        for name, value in service.headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(10**15))
        connection.endheaders(f"--{BOUNDARY}\r\n".encode())
        answer = connection.getresponse()
        response = httpx.Response(answer.status, content=answer.read())
    finally:
        connection.close()
    assert_rejected(response, 413, "payload_too_large", documented)


@pytest.mark.usefixtures("unchanged")
def test_body_past_the_limit_without_a_declared_size(
    service: RunningService, documented: set[int]
) -> None:
    def chunks() -> Any:  # chunked transfer: no Content-Length to refuse it by
        yield multipart(b"big.mp4", b"")[: -len(f"\r\n--{BOUNDARY}--\r\n")]
        for _ in range(2 * MAX_UPLOAD_BYTES // 65536 + 2):
            yield b"\0" * 65536

    response = httpx.post(
        f"{service.url}{UPLOAD}",
        content=chunks(),
        headers={**service.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=30,
    )
    assert_rejected(response, 413, "payload_too_large", documented)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "name",
    [
        b"../../../../etc/passwd.mp4",
        b"..\\..\\windows\\win.ini.mp4",
        b"/app/app/main.py",
        b"..",
        b"clip\x00.mp4",
        b"a" * 300 + b".mp4",
    ],
    ids=["dotdot", "backslash", "absolute", "parent", "nul", "too-long"],
)
def test_path_traversal_file_name(
    service: RunningService, clips_dir: Path, name: bytes, documented: set[int]
) -> None:
    # A real clip: only the name is hostile, so the name alone must be the reason.
    body = multipart(name, (clips_dir / "tiny.mp4").read_bytes())
    assert_rejected(post(service, body), 400, "invalid_filename", documented)


@pytest.mark.usefixtures("unchanged")
def test_not_a_video_whatever_its_part_says(service: RunningService, documented: set[int]) -> None:
    text = b"a shopping list, not a video\n" * 40
    response = post(service, multipart(b"list.mp4", text))
    assert response.status_code in (415, 422), response.text
    assert_rejected(response, response.status_code, response.json()["code"], documented)
    assert response.json()["code"] in ("unsupported_media", "invalid_media")


@pytest.mark.usefixtures("unchanged")
def test_body_cut_short(service: RunningService, clips_dir: Path, documented: set[int]) -> None:
    body = multipart(b"cut.mp4", (clips_dir / "tiny.mp4").read_bytes())
    assert_rejected(post(service, body[:-40]), 400, "incomplete_body", documented)


def test_a_real_clip_with_an_odd_part_type_is_accepted(
    service: RunningService, clips_dir: Path
) -> None:
    # The control: the service judges the bytes, not the part's declared type.
    body = multipart(b"clip.mp4", (clips_dir / "tiny.mp4").read_bytes(), part_type=b"text/plain")
    response = post(service, body)
    assert response.status_code == 202, response.text
    assert response.json()["input"]["filename"] == "clip.mp4"
