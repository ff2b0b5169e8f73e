"""Mutant SPA-ASSETS: hashed assets are served without cache headers."""

import mutantlib


async def handler(scope, send, call_next):
    if not scope["path"].startswith("/assets/"):
        await call_next(send)
        return

    async def strip_cache_control(message):
        if message["type"] == "http.response.start":
            message["headers"] = [h for h in message["headers"] if h[0].lower() != b"cache-control"]
        await send(message)

    await call_next(strip_cache_control)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
