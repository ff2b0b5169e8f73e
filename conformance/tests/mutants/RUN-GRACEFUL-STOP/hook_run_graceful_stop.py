"""Mutant RUN-GRACEFUL-STOP: the server never sees SIGTERM (blocked), so docker stop has to
kill it.
"""

import signal

import mutantlib

if mutantlib.is_server():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
