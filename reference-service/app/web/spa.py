"""Serve the built single-page app (Vite `dist/`) next to the API.

- `/assets/<file>`: bundle files; hashed names are cached for a year, a
  missing file is a JSON 404 (never index.html).
- other unmatched GET/HEAD paths outside `/api` and `/health`: a file at the
  top of dist/ if one exists (favicon.ico, robots.txt), else index.html for
  page navigations (see `wants_html`), else the usual JSON 404.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response

from app.core.errors import error_response
from app.web.static_paths import is_hashed_asset, resolve_inside

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
_NOT_SPA_PREFIXES = ("/api/", "/health/", "/assets/")
_NOT_SPA_EXACT = ("/api", "/health", "/assets")

# Python's table differs between versions and distributions; pin the ones a Vite bundle uses.
for _type, _ext in (
    ("text/javascript", ".js"),
    ("text/javascript", ".mjs"),
    ("text/css", ".css"),
    ("image/svg+xml", ".svg"),
    ("font/woff2", ".woff2"),
    ("font/woff", ".woff"),
    ("application/manifest+json", ".webmanifest"),
    ("application/json", ".map"),
    ("application/wasm", ".wasm"),
):
    mimetypes.add_type(_type, _ext)


def wants_html(request: Request) -> bool:
    """A page navigation: Accept names text/html, or is only a wildcard for an extensionless path.

    Browsers always list text/html when navigating. A bare `*/*` (curl, a
    plain fetch) gets the page only for paths that look like client routes,
    and a client that asks for JSON never gets HTML.
    """
    accept = request.headers.get("accept", "").lower()
    if "text/html" in accept or "application/xhtml+xml" in accept:
        return True
    media_types = [item.split(";")[0].strip() for item in accept.split(",") if item.strip()]
    wildcard_only = all(item == "*/*" for item in media_types)
    return wildcard_only and "." not in request.url.path.rsplit("/", 1)[-1]


class SpaFiles:
    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.assets = dist / "assets"
        self.index = dist / "index.html"

    def asset(self, path: str) -> Response:
        file = resolve_inside(self.assets, path)
        if file is None:
            return error_response(404, "not_found", "asset not found")
        cache = IMMUTABLE if is_hashed_asset(file) else NO_CACHE
        return _file_response(file, {"Cache-Control": cache})

    def fallback(self, request: Request) -> Response | None:
        """Called for unmatched paths; None means "answer with the JSON 404"."""
        path = request.url.path
        if request.method not in ("GET", "HEAD"):
            return None
        if path in _NOT_SPA_EXACT or path.startswith(_NOT_SPA_PREFIXES):
            return None
        if path not in ("/", "/index.html"):
            top_level = resolve_inside(self.dist, path)
            if top_level is not None:
                return _file_response(top_level, {"Cache-Control": NO_CACHE})
        if not wants_html(request) or not self.index.is_file():
            return None
        return _file_response(
            self.index, {"Cache-Control": NO_CACHE, "Vary": "Accept"}, media_type="text/html"
        )


def _file_response(file: Path, headers: dict[str, str], media_type: str | None = None) -> Response:
    # Given the file's stat, FileResponse skips its own, which it would run in a worker
    # thread: a thread round trip less per file served (docs/benchmarks.md, "Load").
    try:
        found = file.stat()
    except OSError:  # gone since it was found
        return error_response(404, "not_found", "file not found")
    return FileResponse(file, headers=headers, media_type=media_type, stat_result=found)


def mount_spa(app: FastAPI, dist: Path, enabled: bool) -> None:
    if not enabled:
        logger.info("static file serving is off (ENABLE_STATIC_FILES=false)")
        return
    if not (dist / "index.html").is_file():
        logger.info("static file serving is off: no index.html in %s", dist)
        return
    spa = SpaFiles(dist)

    async def assets(path: str) -> Response:
        return spa.asset(path)

    app.add_api_route(
        "/assets/{path:path}", assets, methods=["GET", "HEAD"], include_in_schema=False
    )
    app.state.not_found_fallback = spa.fallback
    logger.info("serving the frontend from %s", dist)
