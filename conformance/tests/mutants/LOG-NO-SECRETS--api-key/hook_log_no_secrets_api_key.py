"""Mutant LOG-NO-SECRETS--api-key: each request's Authorization header is printed."""

import mutantlib


async def handler(scope, send, call_next):
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            print(f"request {scope['path']} authorization={value.decode()}", flush=True)
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
