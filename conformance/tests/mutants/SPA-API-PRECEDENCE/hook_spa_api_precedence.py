"""Mutant SPA-API-PRECEDENCE: a fallback that answers unknown /api paths with index.html."""

import mutantlib


async def handler(scope, send, call_next):
    if not scope["path"].startswith("/api/"):
        await call_next(send)
        return
    swallowed = False

    async def fall_back_on_404(message):
        nonlocal swallowed
        if message["type"] == "http.response.start" and message["status"] == 404:
            swallowed = True
            await mutantlib.respond(send, 200, mutantlib.index_html(), "text/html; charset=utf-8")
            return
        if not swallowed:
            await send(message)

    await call_next(fall_back_on_404)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
