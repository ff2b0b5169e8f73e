"""Mutant SPA-ASSET-404: a missing asset gets index.html (a fallback that swallows asset 404s)."""

import os

import mutantlib


async def handler(scope, send, call_next):
    path = scope["path"]
    if path.startswith("/assets/") and not os.path.isfile("/app/frontend/dist" + path):
        await mutantlib.respond(send, 200, mutantlib.index_html(), "text/html; charset=utf-8")
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
