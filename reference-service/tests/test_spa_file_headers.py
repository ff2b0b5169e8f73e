"""Files of the SPA carry the headers of the file they are (length, validators), ranges
work, and a file that vanishes after it was found is a 404."""

from __future__ import annotations

from email.utils import formatdate
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.web import spa as spa_module

BODY = "console.log('a bundle of some length');\n" * 20


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>x</title>")
    (root / "assets" / "index-Bx8e3Kq_.js").write_text(BODY)
    (root / "robots.txt").write_text("User-agent: *\n")
    return root


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/assets/index-Bx8e3Kq_.js", "assets/index-Bx8e3Kq_.js"),
        ("/robots.txt", "robots.txt"),
        ("/", "index.html"),
    ],
)
def test_headers_describe_the_file(spa: TestClient, dist: Path, url: str, name: str) -> None:
    file = dist / name
    answer = spa.get(url, headers={"Accept": "text/html"})
    assert answer.status_code == 200
    assert answer.content == file.read_bytes()
    assert answer.headers["content-length"] == str(file.stat().st_size)
    assert answer.headers["last-modified"] == formatdate(file.stat().st_mtime, usegmt=True)
    assert answer.headers["etag"].startswith('"')
    assert answer.headers["accept-ranges"] == "bytes"


def test_range_request(spa: TestClient) -> None:
    part = spa.get("/assets/index-Bx8e3Kq_.js", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.content == BODY.encode()[:10]


def test_head_has_the_length_and_no_body(spa: TestClient, dist: Path) -> None:
    answer = spa.head("/assets/index-Bx8e3Kq_.js")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(len(BODY.encode()))
    assert answer.content == b""


def test_a_file_gone_after_it_was_found_is_404(
    spa: TestClient, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = spa_module.resolve_inside

    def found_then_deleted(root: Path, url_path: str) -> Path | None:
        file = found(root, url_path)
        if file is not None:
            file.unlink()
        return file

    monkeypatch.setattr(spa_module, "resolve_inside", found_then_deleted)
    answer = spa.get("/assets/index-Bx8e3Kq_.js")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
