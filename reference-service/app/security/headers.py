"""Security headers on every HTTP response, as a pure ASGI middleware.

Pure ASGI (no BaseHTTPMiddleware, no Request objects): per response it only appends
prebuilt byte pairs to the start message, which keeps its cost per request to a closure
and a list copy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The SPA loads only its own bundle (no inline script or style); thumbnails and videos
# fetched with the API key are shown from blob: URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_RAW = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in SECURITY_HEADERS.items()
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A new list, not appended in place: a response object may be sent more
                # than once (a cached page) and must not collect copies.
                message["headers"] = [*message.get("headers", ()), *_RAW]
            await send(message)

        await self.app(scope, receive, send_with_headers)
