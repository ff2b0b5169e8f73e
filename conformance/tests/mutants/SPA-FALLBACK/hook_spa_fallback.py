"""Mutant SPA-FALLBACK: no SPA fallback: client routes are 404s."""

import mutantlib

CLIENT_ROUTE_PREFIXES = ("/api", "/health", "/assets")


async def handler(scope, send, call_next):
    path = scope["path"]
    last = path.rsplit("/", 1)[-1]
    if path != "/" and not path.startswith(CLIENT_ROUTE_PREFIXES) and "." not in last:
        await mutantlib.respond(send, 404, b'{"detail": "Not Found"}', "application/json")
        return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
