"""Per-caller rate limits on the routes that start work (uploads, generations, compositions).

A caller is its API key (the key's digest) when authentication is on, else its client
address. Counting is slowapi's Limiter (the limits library's moving window, in memory:
per process, which is the unit this service scales by). Routes declare their limit as a
dependency rather than with slowapi's decorator: the decorator binds one limiter when the
module is imported, while each app here gets its limits from its own Settings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from app.core.config import Settings
from app.core.errors import error_response
from app.security.auth import authenticate

if TYPE_CHECKING:
    from limits import RateLimitItem
    from slowapi import Limiter

# Route groups and the setting that holds each one's limit.
LIMIT_SETTINGS = {
    "uploads": "rate_limit_uploads",
    "generations": "rate_limit_generations",
    "compositions": "rate_limit_compositions",
}


class RateLimited(Exception):
    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(limit)
        self.limit = limit
        self.retry_after = retry_after


class RateLimits:
    """The app's limits. The limiter (and the import of slowapi and limits, some 20 ms)
    is built on the first limited request, not at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self._texts = {group: getattr(settings, name) for group, name in LIMIT_SETTINGS.items()}
        self._limiter: Limiter | None = None
        self._items: dict[str, list[RateLimitItem]] = {}

    def _build(self) -> Limiter:
        from limits import parse_many
        from slowapi import Limiter

        limiter = Limiter(
            key_func=lambda: "",  # unused: callers are identified by the dependency below
            strategy="moving-window",
            storage_uri="memory://",
            headers_enabled=False,
        )
        self._items = {group: parse_many(text) for group, text in self._texts.items()}
        return limiter

    def hit(self, group: str, caller: str) -> RateLimited | None:
        """Count one request of `caller` to `group`; the error to answer when it is one too many."""
        limiter = self._limiter or self._build()
        self._limiter = limiter
        for item in self._items[group]:
            if not limiter.limiter.hit(item, caller, group):
                reset = limiter.limiter.get_window_stats(item, caller, group).reset_time
                retry_after = max(1, math.ceil(reset - time.time()))
                return RateLimited(self._texts[group], retry_after)
        return None


def caller_of(request: Request, key_digest: bytes | None) -> str:
    if key_digest is not None:
        return "key:" + key_digest.hex()
    client = request.client
    return "addr:" + (client.host if client else "unknown")


def rate_limited(group: str) -> Callable[..., Awaitable[None]]:
    """A route dependency counting the request against `group`'s limit (after authentication)."""
    if group not in LIMIT_SETTINGS:
        raise ValueError(f"no rate limit group {group!r}")

    async def check(
        request: Request, key_digest: Annotated[bytes | None, Depends(authenticate)]
    ) -> None:
        limits: RateLimits = request.app.state.rate_limits
        if not limits.enabled:
            return
        exceeded = limits.hit(group, caller_of(request, key_digest))
        if exceeded is not None:
            raise exceeded

    return check


async def _rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    return error_response(
        429,
        "rate_limited",
        f"too many requests: the limit is {exc.limit}; try again in {exc.retry_after} s",
        headers={"Retry-After": str(exc.retry_after)},
    )


def install(app: FastAPI, settings: Settings) -> None:
    app.state.rate_limits = RateLimits(settings)
    app.add_exception_handler(RateLimited, _rate_limited)
