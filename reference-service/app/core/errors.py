"""Every error the API returns is JSON: {"detail": "<human message>", "code": "<machine_code>"}."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.jobs.queue import QueueUnavailable
from app.jobs.store import StoreUnavailable

logger = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media",
    416: "range_not_satisfiable",
    422: "invalid_request",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error with a stable machine code, raised by routes and services."""

    def __init__(self, status_code: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail


def error_response(
    status_code: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status_code, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    messages = []
    for item in exc.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        messages.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return "; ".join(messages) or "invalid request"


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", _describe_validation(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    fallback = request.app.state.not_found_fallback if exc.status_code == 404 else None
    if fallback is not None:
        page = fallback(request)
        if page is not None:
            return page
    code = _CODES_BY_STATUS.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, code, detail, headers=getattr(exc, "headers", None))


# What a 503 names when a server does not answer.
UNAVAILABLE_PARTS: dict[type[Exception], str] = {
    StoreUnavailable: "the job database",
    QueueUnavailable: "the job queue",
}


def _server_unavailable(part: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The handler of a database or queue server that does not answer (restarting,
    unreachable): the request can be retried, and the service recovers on its own when
    the server is back. The reason (which server, where) is for the log; the client
    learns which part is down."""

    async def handler(request: Request, exc: Exception) -> Response:
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "service_unavailable",
            f"{part} is unavailable; try again shortly",
            headers={"Retry-After": "5"},
        )

    return handler


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback is logged by the server; the client learns nothing of its insides.
    return error_response(500, "internal_error", "internal error; the service log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.state.not_found_fallback = None
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable, part in UNAVAILABLE_PARTS.items():
        app.add_exception_handler(unavailable, _server_unavailable(part))
    app.add_exception_handler(Exception, _unexpected_error)
