"""Mutant LOG-CLEAN: the first request prints a traceback (an optional plugin that fails)."""

import sys
import traceback

import mutantlib

state = {"reported": False}


async def handler(scope, send, call_next):
    if not state["reported"]:
        state["reported"] = True
        try:
            import conformance_optional_plugin  # noqa: F401
        except ImportError:
            traceback.print_exc(file=sys.stderr)
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
