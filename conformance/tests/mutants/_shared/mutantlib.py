"""Helpers for mutant images: change what the server answers without touching its code.

Imported by a mutant's mutant_hook.py, which mutant.pth makes Python run at start-up; only
the server (PID 1) is changed, never the health probe or the suite's commands.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Next = Callable[[Send], Awaitable[None]]
Handler = Callable[[Scope, Send, Next], Awaitable[None]]

INDEX = "/app/frontend/dist/index.html"


def is_server() -> bool:
    return os.getpid() == 1


def patch_http(handler: Handler) -> None:
    """Route every HTTP request through ``handler(scope, send, call_next)``."""
    import fastapi

    original = fastapi.FastAPI.__call__

    async def __call__(self: Any, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await original(self, scope, receive, send)
            return

        async def call_next(downstream: Send) -> None:
            await original(self, scope, receive, downstream)

        await handler(scope, send, call_next)

    fastapi.FastAPI.__call__ = __call__  # type: ignore[method-assign]


def app_headers() -> dict[str, str]:
    """The headers the app adds to every answer (its security headers): an answer a
    mutant makes up differs from the app's own only in the mutant's one fault."""
    try:
        from app.security.headers import SECURITY_HEADERS
    except ImportError:  # an app without them
        return {}
    return dict(SECURITY_HEADERS)


async def respond(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in {**app_headers(), **(headers or {})}.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def index_html() -> bytes:
    with open(INDEX, "rb") as handle:
        return handle.read()


def accepts_html(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"text/html" in headers.get(b"accept", b"")
