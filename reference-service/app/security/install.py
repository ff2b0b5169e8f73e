"""install_security: the pieces of app/security wired into one app."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp

from app.core.config import Settings
from app.security import auth, ratelimit
from app.security.headers import SecurityHeadersMiddleware

logger = logging.getLogger(__name__)


def install_security(app: FastAPI, settings: Settings) -> None:
    auth.install(app)
    ratelimit.install(app, settings)
    _wrap_outermost(app)
    if auth.auth_required(settings):
        logger.info("API key authentication on (%d keys)", len(settings.api_keys))
    elif settings.auth_disabled:
        logger.info("API key authentication off: AUTH_DISABLED=true")


def _wrap_outermost(app: FastAPI) -> None:
    # Outside Starlette's ServerErrorMiddleware, which sends the 500 of an unhandled error
    # itself, past any middleware added with add_middleware: that answer gets the headers too.
    build: Callable[[], ASGIApp] = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeadersMiddleware(build())  # type: ignore[method-assign]
