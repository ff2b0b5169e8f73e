"""SPA-BROWSER: deep links into the SPA render in a real (headless) Chromium.

Each configured client route is opened directly, as a user's bookmark would
be: the server must answer it with the app, the app must load all of its
assets, run without console errors and show the view the profile expects.
A screenshot of every route (desktop and phone width) is saved next to the
report so a person can look at what the browser saw.

Needs Debian's `chromium` and the `playwright` package (its driver only; no
downloaded browsers). Without them the check is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance.container import Started
from conformance.profile import Profile
from conformance.settings import Resolved
from conformance.verdict import Check

pytestmark = pytest.mark.browser

# Headless Chromium as root in a container-like host: no sandbox, no GPU, and
# no background traffic that would show up as failed requests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# Chromium logs every non-2xx answer as a console error of its own, even an API
# answer the app handles and shows (a 404 for a job that does not exist).
RESOURCE_ERROR = "Failed to load resource"
HEADING_MATCHES = """pattern => {
  const heading = document.querySelector("h1");
  return !!heading && new RegExp(pattern).test(heading.textContent || "");
}"""
# Once the network is quiet the app has its data: the view gets this long to show.
RENDER_GRACE_MS = 2000
MAX_LISTED = 10  # problems quoted in the failure message


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{error.__class__.__name__}: {text.splitlines()[0] if text else ''}"


@dataclass(frozen=True)
class BrowserSettings:
    """The check's profile values ([spa] browser_*)."""

    executable: str
    routes: dict[str, str]  # client route -> regex its <h1> must match
    # Routes whose view is built on an API 4xx answer (a job that does not exist):
    # there, and only there, such answers are not failed requests.
    api_errors_expected: list[str]
    api_prefix: str
    timeout_s: float
    # sessionStorage items set before any script of a page runs (the API key a
    # signed-in user's SPA holds)
    session_storage: dict[str, str] = field(default_factory=dict)


def settings_from(contract: Profile) -> BrowserSettings:
    spa = contract.spa
    key = spa.browser_session_storage
    return BrowserSettings(
        executable=spa.browser_executable,
        routes=dict(spa.browser_routes),
        api_errors_expected=list(spa.browser_api_errors_expected),
        api_prefix=spa.browser_api_prefix,
        timeout_s=spa.browser_timeout_s,
        session_storage=(
            {key: contract.security.api_key} if key and contract.security.required else {}
        ),
    )


def session_storage_script(items: dict[str, str]) -> str:
    """A script that puts ``items`` into sessionStorage; run before each page's own."""
    return "".join(
        f"sessionStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in items.items()
    )


@dataclass
class Visit:
    """What the browser saw on one route."""

    path: str
    expected_heading: str
    heading: str | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        return (
            self.heading is not None and re.search(self.expected_heading, self.heading) is not None
        )

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.rendered:
            shown = "no <h1>" if self.heading is None else f"<h1> {self.heading!r}"
            found.append(
                f"{self.path}: expected a heading matching {self.expected_heading!r}, got {shown}"
            )
        found += [f"{self.path}: console error: {text}" for text in self.console_errors]
        found += [f"{self.path}: failed request: {text}" for text in self.failed_requests]
        return found


def is_api_answer(url: str, status: int, api_prefix: str | None) -> bool:
    """An API client error (4xx) that the app handles and shows, like a 404 for a missing job."""
    if api_prefix is None:
        return False
    return urlsplit(url).path.startswith(api_prefix) and 400 <= status < 500


def screenshot_name(path: str, width: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"
    return f"{slug}-{width}px.png"


def visit(
    context: Any,
    base_url: str,
    path: str,
    expected_heading: str,
    out_dir: Path,
    api_prefix: str | None,
    timeout_ms: float,
) -> Visit:
    """Opens one deep link in a fresh page and records what happened.

    API 4xx answers under ``api_prefix`` are accepted (None: none are).
    """
    seen = Visit(path, expected_heading)
    page = context.new_page()
    page.set_viewport_size(DESKTOP)

    answered: set[str] = set()
    closing = False

    def on_response(response: Any) -> None:
        if response.status >= 400:
            answered.add(response.url)
        if response.status >= 400 and not is_api_answer(response.url, response.status, api_prefix):
            seen.failed_requests.append(
                f"{response.request.method} {response.url} -> {response.status}"
            )

    def on_console(message: Any) -> None:
        # Chromium's own line for a non-2xx answer names no URL; the response
        # handler above has already judged that request, with its URL.
        if message.type == "error" and not message.text.startswith(RESOURCE_ERROR):
            seen.console_errors.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.console_errors.append(f"uncaught: {error}"))

    def on_request_failed(request: Any) -> None:
        # A 4xx/5xx answer is also reported as "aborted": count the request once.
        # Requests cut off by closing the page (a poll in flight) are not failures.
        if request.url not in answered and not closing:
            seen.failed_requests.append(f"{request.method} {request.url} -> {request.failure}")

    page.on("requestfailed", on_request_failed)
    try:
        page.goto(base_url + path, wait_until="load", timeout=timeout_ms)
        # Timeouts are not verdicts here: the heading read below reports what
        # was shown. Once the network is quiet the app has had its data, so
        # the heading gets only a short grace (a view that polls never idles).
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=timeout_ms)
        with contextlib.suppress(Exception):
            page.wait_for_function(HEADING_MATCHES, arg=expected_heading, timeout=RENDER_GRACE_MS)
        heading = page.locator("h1").first
        seen.heading = heading.inner_text().strip() if heading.count() else None
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            shot = out_dir / screenshot_name(path, viewport["width"])
            page.screenshot(path=str(shot), full_page=True)
            seen.screenshots.append(shot)
    except Exception as exc:  # the page could not be opened at all: the image's problem
        seen.failed_requests.append(f"GET {base_url + path} -> {first_line(exc)}")
    finally:
        closing = True
        page.close()
    return seen


def screenshot_dir(conformance: Resolved, fallback: Path) -> Path:
    """Next to the JSON (or Markdown) report when one is written."""
    report = conformance.json_report or conformance.markdown_report
    out = Path(report).parent / "spa-browser" if report else fallback
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def spa_browser(contract: Profile) -> BrowserSettings:
    return settings_from(contract)


# Tried after the profile's spa.browser_executable, in this order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_HINT = "Debian: apt-get install chromium; or set spa.browser_executable"


def find_chromium(configured: str) -> str | None:
    """The profile's browser if it is there, else the first Chromium-like one on PATH."""
    for name in (configured, *CHROMIUM_NAMES):
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


def chromium_path(configured: str) -> str:
    """The Chromium to drive, or a skip naming what to install (the host's fault)."""
    executable = find_chromium(configured)
    if executable is None:
        pytest.skip(
            f"SPA-BROWSER needs Chromium: neither {configured} nor any of "
            f"{', '.join(CHROMIUM_NAMES)} found ({CHROMIUM_HINT})"
        )
    return executable


@pytest.fixture(scope="module")
def chromium(spa_browser: BrowserSettings) -> Iterator[Any]:
    """A headless Chromium, or a skip that says what is missing."""
    executable = chromium_path(spa_browser.executable)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "SPA-BROWSER needs the playwright package: pip install 'ai-video-conformance[browser]'"
        )
    with sync_playwright() as driver:
        try:
            launched = driver.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
        except Exception as exc:
            pytest.skip(f"SPA-BROWSER: Chromium at {executable} did not start: {first_line(exc)}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.check("SPA-BROWSER")
def test_deep_links_render_in_a_browser(
    check: Check,
    app: Started,
    spa_browser: BrowserSettings,
    conformance: Resolved,
    chromium: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    out_dir = screenshot_dir(conformance, tmp_path_factory.mktemp("spa-browser"))
    timeout_ms = spa_browser.timeout_s * 1000
    context = chromium.new_context(service_workers="block")
    if spa_browser.session_storage:  # the browser's own hook: no CSP applies to it
        context.add_init_script(session_storage_script(spa_browser.session_storage))
    try:
        visits = [
            visit(
                context,
                app.base_url,
                path,
                heading,
                out_dir,
                spa_browser.api_prefix if path in spa_browser.api_errors_expected else None,
                timeout_ms,
            )
            for path, heading in spa_browser.routes.items()
        ]
    finally:
        context.close()

    problems = [problem for seen in visits for problem in seen.problems]
    rendered = sum(seen.rendered for seen in visits)
    errors = sum(len(seen.console_errors) for seen in visits)
    failed = sum(len(seen.failed_requests) for seen in visits)
    measured = (
        f"{rendered}/{len(visits)} deep links rendered, {errors} console errors, "
        f"{failed} failed requests (screenshots: {out_dir})"
    )
    expected = f"{len(visits)}/{len(visits)} rendered, 0 console errors, 0 failed requests"
    check.expect(
        not problems,
        measured + "".join(f"\n    {problem}" for problem in problems[:MAX_LISTED]),
        expected,
        advice(visits, app.base_url, spa_browser.api_prefix),
    )


def advice(visits: list[Visit], base_url: str, api_prefix: str) -> str:
    """How to fix what was seen, most basic cause first."""
    failed = [line for seen in visits for line in seen.failed_requests]
    pages = {f"GET {base_url}{seen.path} " for seen in visits}
    if any(line.startswith(tuple(pages)) for line in failed):
        return "serve index.html for every client route requested with Accept: text/html"
    if any(f"{base_url}{api_prefix}" not in line for line in failed):
        return "ship every file index.html references (rebuild the frontend into the image)"
    if any(line.endswith(("-> 401", "-> 403")) for line in failed):
        return (
            "send the API key the SPA holds (sessionStorage, spa.browser_session_storage) as "
            "`Authorization: Bearer <key>` on every API call"
        )
    if failed:
        return "the app calls API routes the image does not serve: add them or fix the app"
    if any(seen.console_errors for seen in visits):
        return "fix the JavaScript errors the app logs on these routes"
    return "make each route render the view the profile expects (spa.browser_routes)"
