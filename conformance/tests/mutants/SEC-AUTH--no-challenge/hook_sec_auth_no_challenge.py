"""Mutant SEC-AUTH--no-challenge: every 401 loses its WWW-Authenticate header."""

import mutantlib


async def handler(scope, send, call_next):
    async def without_challenge(message):
        if message["type"] == "http.response.start" and message["status"] == 401:
            message["headers"] = [
                (name, value)
                for name, value in message.get("headers", [])
                if name.lower() != b"www-authenticate"
            ]
        await send(message)

    await call_next(without_challenge)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
