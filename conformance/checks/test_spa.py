"""SPA: the static frontend and its routing precedence over HTTP."""

from __future__ import annotations

import mimetypes
import re
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.container import Started
from conformance.fixtures import api_client
from conformance.profile import Profile
from conformance.verdict import Check

HTML = {"Accept": "text/html,application/xhtml+xml"}
JSON = {"Accept": "application/json"}
# Files the page loads (scripts, stylesheets, icons, images), not the links it shows.
_REF = re.compile(
    r"""<(?:script|link|img|source)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"'#?]+)""", re.I
)
TRAVERSALS = [
    "/assets/../../../../../../etc/passwd",
    "/assets/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/assets/%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/assets/....//....//....//....//etc/passwd",
    "/assets/..\\..\\..\\..\\..\\etc\\passwd",
    "/assets/%2e%2e%5c%2e%2e%5c%2e%2e%5c%2e%2e%5cetc%5cpasswd",
    "/assets/../../../../../../proc/self/environ",
]


def _is_html(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/html")


@pytest.mark.check("SPA-INDEX")
def test_index(http: httpx.Client, index_html: str, check: Check) -> None:
    response = http.get("/", headers=HTML)
    check.expect(
        response.status_code == 200 and _is_html(response) and response.text == index_html,
        f"HTTP {response.status_code} {response.headers.get('content-type')}, "
        + ("the bundle index.html" if response.text == index_html else "not the bundle index.html"),
        "200 text/html, the bundle's index.html",
        "serve frontend/dist/index.html at /",
    )


@pytest.mark.check("SPA-FALLBACK")
def test_client_routes_fall_back(
    http: httpx.Client, index_html: str, contract: Profile, check: Check
) -> None:
    problems = []
    for route in contract.spa.client_routes:
        page = http.get(route, headers=HTML)
        if page.status_code != 200 or not _is_html(page) or page.text != index_html:
            problems.append(
                f"{route} as HTML → {page.status_code} {page.headers.get('content-type')}"
            )
        data = http.get(route, headers=JSON)
        if _is_html(data):
            problems.append(f"{route} as JSON → HTML")
    check.expect(
        not problems,
        "; ".join(problems) or "index.html for HTML, no HTML for JSON",
        f"{', '.join(contract.spa.client_routes)}: index.html when Accept is HTML, never HTML "
        "for JSON",
        "add a catch-all GET route that returns index.html only for requests accepting text/html",
    )


def _asset_refs(index_html: str) -> list[str]:
    refs = []
    for ref in _REF.findall(index_html):
        if urlsplit(ref).scheme or ref.startswith("//") or ref.startswith("data:"):
            continue
        refs.append(ref if ref.startswith("/") else f"/{ref.removeprefix('./')}")
    return sorted(set(refs))


@pytest.mark.check("SPA-ASSETS")
def test_assets(http: httpx.Client, index_html: str, contract: Profile, check: Check) -> None:
    problems = []
    refs = _asset_refs(index_html)
    for ref in refs:
        response = http.get(ref)
        ctype = response.headers.get("content-type", "")
        guessed = mimetypes.guess_type(ref)[0] or ""
        if response.status_code != 200:
            problems.append(f"{ref} → {response.status_code}")
            continue
        if guessed and guessed.split("/")[-1].replace("x-", "") not in ctype.replace("x-", ""):
            problems.append(f"{ref} served as {ctype or 'no type'}")
        if ref.startswith(contract.spa.assets_prefix) and "immutable" not in response.headers.get(
            "cache-control", ""
        ):
            problems.append(f"{ref} Cache-Control {response.headers.get('cache-control')!r}")
    root = http.get("/", headers=HTML).headers.get("cache-control", "")
    if not re.search(r"no-cache|no-store|max-age=0", root):
        problems.append(f"index.html Cache-Control {root!r}")
    check.expect(
        not problems,
        "; ".join(problems[:6]) or f"{len(refs)} assets ok",
        "every referenced asset 200 with its type; assets `immutable`, index.html `no-cache`",
        "serve hashed assets with `Cache-Control: public, max-age=31536000, immutable` and "
        "index.html with `no-cache`",
    )


@pytest.mark.check("SPA-ASSET-404")
def test_missing_asset_404(http: httpx.Client, contract: Profile, check: Check) -> None:
    path = f"{contract.spa.assets_prefix}conformance-missing-0123abcd.js"
    response = http.get(path, headers=HTML)
    check.expect(
        response.status_code == 404 and not _is_html(response),
        f"{path} → {response.status_code} {response.headers.get('content-type')}",
        "404, not index.html",
        "exclude the assets prefix from the SPA fallback",
    )


@pytest.mark.check("SPA-API-PRECEDENCE")
def test_api_precedence(http: httpx.Client, contract: Profile, check: Check) -> None:
    problems = []
    ping = http.get(contract.runtime.ping_path, headers=HTML)
    if ping.status_code != 200 or "json" not in ping.headers.get("content-type", ""):
        problems.append(
            f"{contract.runtime.ping_path} → {ping.status_code} {ping.headers.get('content-type')}"
        )
    unknown = http.get(contract.spa.unknown_api_path, headers=HTML)
    if unknown.status_code != 404 or "json" not in unknown.headers.get("content-type", ""):
        problems.append(
            f"{contract.spa.unknown_api_path} → {unknown.status_code} "
            f"{unknown.headers.get('content-type')}"
        )
    health = http.get(contract.runtime.health_path, headers=HTML)
    if health.status_code != 200 or _is_html(health):
        problems.append(
            f"{contract.runtime.health_path} → {health.status_code} "
            f"{health.headers.get('content-type')}"
        )
    check.expect(
        not problems,
        "; ".join(problems) or "API and health answer JSON",
        "ping JSON 200; unknown /api path JSON 404; health not shadowed (even with Accept: "
        "text/html)",
        "register API routers before the SPA fallback and exclude /api and /health from it",
    )


def _raw_get(port: int, path: str) -> tuple[int, bytes]:
    """A request sent byte for byte: HTTP clients normalise the `..` this check needs."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = data.split(b" ", 2)[1] if data.count(b" ") >= 2 else b"0"
    return int(status) if status.isdigit() else 0, data


@pytest.mark.check("SPA-TRAVERSAL")
def test_no_traversal(app: Started, check: Check) -> None:
    assert app.host_port is not None
    leaks = []
    for path in TRAVERSALS:
        status, data = _raw_get(app.host_port, path)
        if status == 200 and (b"root:x:0:0" in data or b"PATH=" in data):
            leaks.append(path)
    check.expect(
        not leaks,
        f"file outside the bundle served for {', '.join(leaks)}"
        if leaks
        else f"{len(TRAVERSALS)} attempts refused",
        "no file outside the bundle",
        "resolve the requested path and refuse it unless it stays inside the bundle directory",
    )


@pytest.mark.check("SPA-DISABLED")
def test_spa_disabled(static_off_run: Started, contract: Profile, check: Check) -> None:
    flag = " ".join(f"{k}={v}" for k, v in contract.spa.disable_env.items())
    if static_off_run.ready_after_s is None:
        check.fail(
            str(static_off_run.problem),
            f"serves with {flag}",
            "the API must not depend on the bundle",
        )
    problems = []
    with api_client(static_off_run.base_url, contract) as client:
        for path in ("/", *contract.spa.client_routes):
            response = client.get(path, headers=HTML)
            if response.status_code != 404:
                problems.append(f"{path} → {response.status_code}")
        ping = client.get(contract.runtime.ping_path)
        if ping.status_code != 200:
            problems.append(f"{contract.runtime.ping_path} → {ping.status_code}")
    check.expect(
        not problems,
        f"with {flag}: " + ("; ".join(problems) or "SPA routes 404, API 200"),
        "SPA routes 404, API still 200",
        "mount the bundle and its fallback only when ENABLE_STATIC_FILES is true",
    )
