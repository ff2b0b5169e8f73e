"""Mutant LOG-STDOUT: the server also writes its log to a file in the container."""

import os
import time

import mutantlib

if mutantlib.is_server():
    with open("/app/temp/server.log", "a") as handle:
        handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} server starting, pid {os.getpid()}\n")
