"""Mutant RUN-MIN-RESOURCES: the server holds 600 MB from the start."""

import mutantlib

if mutantlib.is_server():
    BALLAST = b"\x01" * (600 * 1024 * 1024)
