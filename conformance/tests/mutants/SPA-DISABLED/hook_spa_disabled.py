"""Mutant SPA-DISABLED: ENABLE_STATIC_FILES is ignored: the SPA is always on."""

import os

import mutantlib

if mutantlib.is_server():
    os.environ["ENABLE_STATIC_FILES"] = "true"
