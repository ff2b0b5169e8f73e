"""The load benchmark's controls, run inside the reference image (bench/load.py mounts this
file read-only and runs `python -m load_controls <app>`).

Every app here is served by the reference service's own entry point (`python -m app`):
the same start-up, logging set-up and uvicorn.Config, one process. Only the ASGI app
differs, so a throughput ratio against one of these measures what the service's own
code costs per request.

    reference   the service itself (create_app), for the start-up comparison
    bare-asgi   a plain ASGI callable answering /health
    fastapi     FastAPI() with one /health route
    static      Starlette with StaticFiles on the SPA's assets directory

The controls log nothing by default: with the entry point's uvicorn.Config
(log_config=None) and no handler, uvicorn writes no line per request, as a minimal app
run with the service's uvicorn flags would. LOAD_REQUEST_LOG=service gives a control the
service's logging set-up instead (one access line per request on stdout), so the cost of
that line can be told apart from the cost of the app's code.

LOAD_LOOP / LOAD_HTTP (default "auto") choose uvicorn's event loop and HTTP parser, so
the start-up with and without uvloop and httptools can be compared on the same app.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

# Imported first, as `python -m app` runs it: it begins with the start-up shortcuts.
from app import __main__ as entry

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
# The same body the service's /health returns.
HEALTH_BODY = {"status": "healthy", "service": "ai-video-generation-pipeline"}


def bare_asgi() -> Any:
    body = json.dumps(HEALTH_BODY, separators=(",", ":")).encode()
    ok_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        found = scope["path"] == "/health"
        await send(
            {
                "type": "http.response.start",
                "status": 200 if found else 404,
                "headers": ok_headers if found else [(b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": body if found else b""})

    return app


def minimal_fastapi() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return HEALTH_BODY

    return app


def static_files() -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from app.core.config import Settings

    assets = Settings().static_dir / "assets"
    return Starlette(routes=[Mount("/assets", StaticFiles(directory=assets))])


CONTROLS: dict[str, Callable[[], Any]] = {
    "bare-asgi": bare_asgi,
    "fastapi": minimal_fastapi,
    "static": static_files,
}


def use_loop_and_parser(loop: str, http: str) -> None:
    """Make the entry point's uvicorn.Config use this loop and HTTP implementation."""
    import uvicorn

    base = uvicorn.Config

    class Config(base):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "loop": loop, "http": http})

    uvicorn.Config = Config  # type: ignore[misc]


def main(argv: list[str]) -> int:
    names = ["reference", *CONTROLS]
    if len(argv) != 1 or argv[0] not in names:
        print(f"usage: python -m load_controls {{{','.join(names)}}}", file=sys.stderr)
        return 2
    use_loop_and_parser(os.environ.get("LOAD_LOOP", "auto"), os.environ.get("LOAD_HTTP", "auto"))
    if argv[0] != "reference":
        import app.main

        if os.environ.get("LOAD_REQUEST_LOG") != "service":
            entry.configure_logging = lambda *args: None  # type: ignore[assignment]

        control = CONTROLS[argv[0]]
        app.main.create_app = lambda settings=None: control()  # type: ignore[assignment]
    return entry.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
