"""Mutant RUN-HARDENED: in production the server writes a state file outside the data
directories.
"""

import os
import sys

import mutantlib

if mutantlib.is_server() and os.environ.get("APP_ENV") == "production":
    try:
        with open("/app/.state/server.pid", "w") as handle:
            handle.write(str(os.getpid()))
    except OSError as exc:
        print(f"cannot write /app/.state/server.pid: {exc.strerror}", file=sys.stderr)
        os._exit(1)
