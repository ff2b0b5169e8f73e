"""Mutant SPA-TRAVERSAL: a hand-written handler for odd asset paths that joins the
decoded path to the bundle directory (the usual assets are still served by the app)."""

import os
from urllib.parse import unquote

import mutantlib

ASSETS = "/app/frontend/dist/assets/"


async def handler(scope, send, call_next):
    raw = scope.get("raw_path", b"").decode("latin-1")
    if raw.startswith("/assets/"):
        relative = unquote(unquote(raw[len("/assets/") :])).replace("\\", "/")
        candidate = ASSETS + relative
        if ".." in relative and os.path.isfile(candidate):
            with open(candidate, "rb") as handle:
                await mutantlib.respond(send, 200, handle.read(), "application/octet-stream")
            return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
