"""SPA-BROWSER's judgement on pages a local server makes up: what counts as a console
error, a failed request or a missing view (real Chromium, no Docker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.test_browser import (
    CHROMIUM_ARGS,
    Visit,
    advice,
    chromium_path,
    find_chromium,
    is_api_answer,
    screenshot_name,
    session_storage_script,
    visit,
)
from conformance.tests import prereq

BASE = "http://127.0.0.1:1"


def page(script: str = "", body: str = "<h1>Jobs</h1>") -> bytes:
    return f"<!doctype html><title>t</title>{body}<script>{script}</script>".encode()


PAGES: dict[str, tuple[int, str, bytes]] = {
    "/ok": (200, "text/html", page()),
    "/console": (200, "text/html", page("console.error('boom')")),
    "/throws": (200, "text/html", page("throw new Error('kaput')")),
    "/api-404": (200, "text/html", page("fetch('/api/v1/jobs/x')")),
    "/late": (
        200,
        "text/html",
        page(
            "setTimeout(() => document.body.append("
            "Object.assign(document.createElement('h1'),"
            " {textContent: 'Jobs'})), 300)",
            body="",
        ),
    ),
    "/missing-asset": (
        200,
        "text/html",
        b'<!doctype html><h1>Jobs</h1><script src="/assets/x.js"></script>',
    ),
}


# Pages served under the reference's kind of policy: no inline script runs.
CSP = "default-src 'self'; script-src 'self'"
SIGNED_IN = (
    "document.body.append(Object.assign(document.createElement('h1'), {textContent: "
    "sessionStorage.getItem('ai-video.apiKey') === 'k-1' ? 'Jobs' : 'Sign in'}))"
)
PAGES.update(
    {
        "/signed-in": (200, "text/html", b'<body><script src="/signed-in.js"></script></body>'),
        "/signed-in.js": (200, "text/javascript", SIGNED_IN.encode()),
        "/csp-inline": (200, "text/html", page("document.title = 'ran'")),
    }
)
UNDER_CSP = {"/signed-in", "/csp-inline"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, data = PAGES.get(self.path, (404, "application/json", b'{"detail":"no"}'))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if self.path in UNDER_CSP:
            self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = prereq.chromium()
    sync_api = prereq.module(
        "playwright.sync_api", "pip install 'ai-video-conformance[browser]'", "browser"
    )
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context()
    yield ctx
    ctx.close()


def open_(context: Any, server: str, path: str, tmp_path: Path, api: str | None = None) -> Visit:
    return visit(context, server, path, "^Jobs$", tmp_path, api, 5000)


@pytest.mark.browser
class TestVisit:
    def test_a_clean_page_passes_and_is_photographed(self, context, server, tmp_path) -> None:
        seen = open_(context, server, "/ok", tmp_path)
        assert seen.problems == []
        assert [p.name for p in seen.screenshots] == ["ok-1280px.png", "ok-375px.png"]
        assert all(p.stat().st_size > 0 for p in seen.screenshots)

    def test_a_view_rendered_after_load_is_waited_for(self, context, server, tmp_path) -> None:
        assert open_(context, server, "/late", tmp_path).problems == []

    def test_console_errors_and_uncaught_exceptions_fail(self, context, server, tmp_path) -> None:
        assert open_(context, server, "/console", tmp_path).console_errors == ["boom"]
        thrown = open_(context, server, "/throws", tmp_path).console_errors
        assert len(thrown) == 1 and "kaput" in thrown[0]

    def test_a_missing_asset_is_one_failed_request(self, context, server, tmp_path) -> None:
        seen = open_(context, server, "/missing-asset", tmp_path)
        assert seen.failed_requests == [f"GET {server}/assets/x.js -> 404"]

    def test_api_errors_fail_unless_the_route_expects_them(self, context, server, tmp_path) -> None:
        strict = open_(context, server, "/api-404", tmp_path)
        assert strict.failed_requests == [f"GET {server}/api/v1/jobs/x -> 404"]
        assert strict.console_errors == []  # Chromium's own line is not counted twice
        assert open_(context, server, "/api-404", tmp_path, api="/api/").problems == []

    def test_the_key_is_in_session_storage_before_the_page_runs(
        self, browser, server, tmp_path
    ) -> None:
        plain, signed_in = browser.new_context(), browser.new_context()
        signed_in.add_init_script(session_storage_script({"ai-video.apiKey": "k-1"}))
        try:
            assert open_(plain, server, "/signed-in", tmp_path).heading == "Sign in"
            assert open_(signed_in, server, "/signed-in", tmp_path).problems == []
        finally:
            plain.close()
            signed_in.close()

    def test_a_csp_violation_is_a_console_error(self, context, server, tmp_path) -> None:
        errors = open_(context, server, "/csp-inline", tmp_path).console_errors
        assert len(errors) == 1 and "Content Security Policy" in errors[0], errors

    def test_a_page_that_does_not_render_the_view_fails(self, context, server, tmp_path) -> None:
        seen = open_(context, server, "/nowhere", tmp_path)
        assert not seen.rendered
        assert seen.failed_requests == [f"GET {server}/nowhere -> 404"]


def test_api_answers_are_client_errors_under_the_prefix() -> None:
    assert is_api_answer("http://h/api/v1/jobs/x", 404, "/api/")
    assert not is_api_answer("http://h/api/v1/jobs", 500, "/api/")
    assert not is_api_answer("http://h/assets/a.js", 404, "/api/")
    assert not is_api_answer("http://h/api/v1/jobs/x", 404, None)


def test_screenshot_names_are_file_safe() -> None:
    assert screenshot_name("/jobs/does-not-exist", 375) == "jobs-does-not-exist-375px.png"
    assert screenshot_name("/", 1280) == "root-1280px.png"


def test_advice_names_the_most_basic_cause() -> None:
    def seen(path: str, failed: list[str], errors: list[str] | None = None) -> Visit:
        return Visit(path, "^Jobs$", "Jobs", errors or [], failed)

    page_404 = seen("/jobs", [f"GET {BASE}/jobs -> 404"])
    asset_404 = seen("/jobs", [f"GET {BASE}/assets/a.js -> 404"])
    api_404 = seen("/jobs", [f"GET {BASE}/api/v1/jobs -> 404"])
    assert "serve index.html" in advice([page_404, asset_404], BASE, "/api/")
    assert "ship every file" in advice([asset_404, api_404], BASE, "/api/")
    assert "API routes" in advice([api_404], BASE, "/api/")
    api_401 = seen("/jobs", [f"GET {BASE}/api/v1/jobs -> 401"])
    assert "send the API key the SPA holds" in advice([api_401, api_404], BASE, "/api/")
    assert "JavaScript errors" in advice([seen("/jobs", [], ["boom"])], BASE, "/api/")


def _fake_browsers(folder: Path, *names: str) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)


def test_no_chromium_is_a_skip_that_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_path("/nonexistent/chromium")


def test_chromium_is_found_by_the_profile_then_by_known_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    _fake_browsers(bin_dir, "google-chrome", "chromium-browser")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_chromium("/nonexistent/chromium") == str(bin_dir / "chromium-browser")
    _fake_browsers(tmp_path / "own", "my-chrome")
    assert find_chromium(str(tmp_path / "own" / "my-chrome")) == str(tmp_path / "own/my-chrome")


def test_a_missing_prerequisite_fails_where_it_is_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("conformance.tests.prereq.find_chromium", lambda configured: None)
    monkeypatch.delenv(prereq.REQUIRED_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        prereq.chromium()
    monkeypatch.setenv(prereq.REQUIRED_ENV, "docker,browser")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        prereq.chromium()
