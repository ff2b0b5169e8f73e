"""Mutant RUN-DETAILED: /health/detailed reports no components."""

import mutantlib


async def handler(scope, send, call_next):
    if scope["path"] == "/health/detailed":
        await mutantlib.respond(send, 200, b'{"status": "healthy"}', "application/json")
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
