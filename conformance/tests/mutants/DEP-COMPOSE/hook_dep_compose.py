"""Mutant DEP-COMPOSE: the server needs a writable /tmp, which the compose service (read-only,
tmpfs only on the data directories) does not give it.
"""

import os
import sys
import tempfile

import mutantlib

if mutantlib.is_server():
    try:
        with tempfile.NamedTemporaryFile(dir="/tmp"):
            pass
    except OSError as exc:
        print(f"cannot use /tmp: {exc.strerror}", file=sys.stderr)
        os._exit(1)
