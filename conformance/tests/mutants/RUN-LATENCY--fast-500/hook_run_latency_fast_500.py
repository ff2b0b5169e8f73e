"""Mutant RUN-LATENCY--fast-500: /health answers a fast 500 to back-to-back requests
(a burst), 200 otherwise.

A request that follows the previous /health request within GAP_S extends a streak;
once the streak is longer than STREAK the answer is an immediate 500. Readiness polls
(10 a second), Docker's probe and single requests of other checks never build a
streak, so only a latency run sees the 500s, and fast ones: p95 alone would pass.
"""

import time

import mutantlib

GAP_S = 0.02
STREAK = 20
_last = [0.0]
_streak = [0]


async def handler(scope, send, call_next):
    if scope["path"] == "/health":
        now = time.monotonic()
        _streak[0] = _streak[0] + 1 if now - _last[0] < GAP_S else 0
        _last[0] = now
        if _streak[0] > STREAK:
            await mutantlib.respond(send, 500, b'{"detail":"overloaded"}', "application/json")
            return
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
