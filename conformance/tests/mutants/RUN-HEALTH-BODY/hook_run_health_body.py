"""Mutant RUN-HEALTH-BODY: the health body names another service."""

import json

import mutantlib


async def handler(scope, send, call_next):
    if scope["path"] == "/health":
        body = json.dumps({"status": "healthy", "service": "video-backend"}).encode()
        await mutantlib.respond(send, 200, body, "application/json")
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
