"""Mutant SEC-AUTH--any-key: any bearer token passes for the first configured key."""

import os

import mutantlib

KEYS = [key.strip() for key in os.environ.get("API_KEYS", "").split(",") if key.strip()]


async def handler(scope, send, call_next):
    headers = list(scope.get("headers") or [])
    if KEYS and any(name == b"authorization" for name, _ in headers):
        scope["headers"] = [(n, v) for n, v in headers if n != b"authorization"] + [
            (b"authorization", f"Bearer {KEYS[0]}".encode())
        ]
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
