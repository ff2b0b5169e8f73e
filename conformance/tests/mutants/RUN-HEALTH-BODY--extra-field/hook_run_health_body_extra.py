"""Mutant RUN-HEALTH-BODY--extra-field: the health body has the expected fields plus one
more (the host name): a subset match would accept it, the contract's exact body does not."""

import json
import socket

import mutantlib


async def handler(scope, send, call_next):
    if scope["path"] == "/health":
        body = {
            "status": "healthy",
            "service": "ai-video-generation-pipeline",
            "host": socket.gethostname(),
        }
        await mutantlib.respond(send, 200, json.dumps(body).encode(), "application/json")
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
