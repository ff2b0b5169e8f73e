"""Mutant SPA-API-PRECEDENCE: unknown /api paths get index.html (a fallback that swallows the
API).
"""

import mutantlib

KNOWN_API = ("/api/v1/ping",)


async def handler(scope, send, call_next):
    path = scope["path"]
    if path.startswith("/api/") and path not in KNOWN_API:
        await mutantlib.respond(send, 200, mutantlib.index_html(), "text/html; charset=utf-8")
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
