"""Mutant RUN-READY: the server starts serving only after 8 s, past the 5 s start period."""

import time

import mutantlib

if mutantlib.is_server():
    time.sleep(8)
