"""Mutant RUN-DETAILED--null-component: /health/detailed names every component, but
ffmpeg's entry is null (`"ffmpeg": null`): the name is there, its state is not."""

import json

import mutantlib


async def handler(scope, send, call_next):
    if scope["path"] != "/health/detailed":
        await call_next(send)
        return
    start, chunks = {}, []

    async def capture(message):
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            chunks.append(message.get("body", b""))

    await call_next(capture)
    body = json.loads(b"".join(chunks))
    body["components"]["ffmpeg"] = None
    await mutantlib.respond(send, start["status"], json.dumps(body).encode(), "application/json")


if mutantlib.is_server():
    mutantlib.patch_http(handler)
