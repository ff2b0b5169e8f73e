"""Mutant RUN-LATENCY: every /health answer takes 80 ms."""

import asyncio

import mutantlib


async def handler(scope, send, call_next):
    if scope["path"] == "/health":
        await asyncio.sleep(0.08)
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
