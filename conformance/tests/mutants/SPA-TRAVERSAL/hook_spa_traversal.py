"""Mutant SPA-TRAVERSAL: a hand-written asset handler that joins the decoded path to the bundle."""

import os
from urllib.parse import unquote

import mutantlib

ASSETS = "/app/frontend/dist/assets/"


async def handler(scope, send, call_next):
    raw = scope.get("raw_path", b"").decode("latin-1")
    if raw.startswith("/assets/"):
        candidate = ASSETS + unquote(unquote(raw[len("/assets/") :])).replace("\\", "/")
        if os.path.isfile(candidate):
            with open(candidate, "rb") as handle:
                await mutantlib.respond(send, 200, handle.read(), "application/octet-stream")
            return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
