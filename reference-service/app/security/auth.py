"""API key authentication for the job routes: `Authorization: Bearer <key>`.

On when API_KEYS holds a key and AUTH_DISABLED is not true (config.py refuses to start
production with neither). A missing or wrong key is a 401 in the API's error shape;
the key is never logged or echoed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.core.config import Settings
from app.core.errors import error_response

CHALLENGE = {"WWW-Authenticate": "Bearer"}
MISSING = "authentication required: send the header Authorization: Bearer <API key>"
INVALID = "the API key is not valid"

# Parses the header and documents the scheme in OpenAPI; the check is ours (auto_error
# would answer 403 in FastAPI's own error shape).
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="One of the keys in the service's API_KEYS, as a bearer token.",
)


class Unauthorized(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def auth_required(settings: Settings) -> bool:
    return bool(settings.api_keys) and not settings.auth_disabled


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> bytes | None:
    """The digest of the caller's key (what rate limits count by); None when auth is off."""
    settings: Settings = request.app.state.settings
    if not auth_required(settings):
        return None
    if credentials is None:
        raise Unauthorized(MISSING)
    digest = settings.api_keys.match(credentials.credentials)
    if digest is None:
        raise Unauthorized(INVALID)
    return digest


async def _unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthorized)
    return error_response(401, "unauthorized", exc.detail, headers=CHALLENGE)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Unauthorized, _unauthorized)
