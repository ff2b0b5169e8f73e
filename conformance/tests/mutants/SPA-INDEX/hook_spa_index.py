"""Mutant SPA-INDEX: with the SPA on, / answers a placeholder page instead of the bundle."""

import os

import mutantlib

SPA_ON = os.environ.get("ENABLE_STATIC_FILES", "true").lower() != "false"


async def handler(scope, send, call_next):
    if scope["path"] == "/" and SPA_ON:
        body = b"<!doctype html><html><body>Welcome</body></html>"
        await mutantlib.respond(
            send, 200, body, "text/html; charset=utf-8", {"cache-control": "no-cache"}
        )
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
