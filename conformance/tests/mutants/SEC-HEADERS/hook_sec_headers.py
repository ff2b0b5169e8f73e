"""Mutant SEC-HEADERS: the security headers are stripped from every answer."""

import mutantlib

STRIPPED = {b"content-security-policy", b"x-content-type-options", b"referrer-policy"}


async def handler(scope, send, call_next):
    async def without_headers(message):
        if message["type"] == "http.response.start":
            message["headers"] = [
                (n, v) for n, v in message.get("headers", ()) if n.lower() not in STRIPPED
            ]
        await send(message)

    await call_next(without_headers)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
