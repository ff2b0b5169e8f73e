"""Mutant DEP-COMPOSE-FULL: the API ignores REDIS_URL and runs every job in its own process,
so the worker containers idle and the API container transcodes.

Only the API server (`python -m app` as PID 1) is changed: the workers (`python -m
app.worker`) still start, check in and look healthy.
"""

import os
from pathlib import Path

import mutantlib

if mutantlib.is_server():
    command = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    if command[1:3] == [b"-m", b"app"]:
        os.environ.pop("REDIS_URL", None)
