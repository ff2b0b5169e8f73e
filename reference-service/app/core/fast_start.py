"""Start-up shortcuts for `python -m app`, the image's PID 1: time to the first answer
on /health is part of the image's contract.

Nothing here changes what the service does once it serves; it only moves work out of
the start-up or skips work that would be thrown away.
"""

from __future__ import annotations

import gc


def begin() -> None:
    """Call first, before the framework's imports."""
    # Start-up creates hundreds of thousands of long-lived objects (modules, classes,
    # schemas): collecting while they are being created only costs time.
    gc.disable()
    _import_fastapi_with_deferred_openapi_models()


def ready() -> None:
    """Call once everything is imported, before serving."""
    gc.freeze()  # what start-up built lives as long as the process: never scan it again
    gc.enable()


def _import_fastapi_with_deferred_openapi_models() -> None:
    # FastAPI defines some sixty pydantic models for the OpenAPI document at import
    # time, and building their validators is about a seventh of the start-up. They are
    # needed only when /openapi.json is first served, so they are built then. Only
    # models defined during this import are deferred: the setting is inherited at
    # class creation and removed again right after.
    from pydantic import BaseModel

    config = BaseModel.model_config
    had_setting = "defer_build" in config
    previous = config.get("defer_build")
    config["defer_build"] = True
    try:
        import fastapi  # noqa: F401
    finally:
        if had_setting:
            config["defer_build"] = bool(previous)
        else:
            del config["defer_build"]
