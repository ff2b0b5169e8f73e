"""Mutant LOG-CLEAN: a traceback in the start-up logs."""

import sys
import traceback

import mutantlib

if mutantlib.is_server():
    try:
        import conformance_optional_plugin  # noqa: F401
    except ImportError:
        traceback.print_exc(file=sys.stderr)
