"""Run FFmpeg/ffprobe as child processes that a timeout or a cancelled job can kill."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from app.services.ffmpeg_graph import ffmpeg

STDERR_TAIL_LINES = 5


class MediaToolError(Exception):
    """An FFmpeg/ffprobe run failed. The message (one line, with the stderr tail) names
    server files: it is for the log, never for a client."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class MediaToolTimeout(MediaToolError):
    pass


def _tail(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-STDERR_TAIL_LINES:]) or "no diagnostic output"


async def run_tool(argv: Sequence[str], timeout: float) -> bytes:
    """Run argv, return stdout; kill the process on timeout or when the caller is cancelled."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        await _kill(process)
        raise MediaToolTimeout(f"{argv[0]} timed out after {timeout:g} s") from None
    except asyncio.CancelledError:
        await _kill(process)
        raise
    if process.returncode != 0:
        raise MediaToolError(
            f"{argv[0]} exited with {process.returncode}: {_tail(stderr)}", process.returncode
        )
    return stdout


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    # Shielded so a second cancellation cannot leave a zombie behind.
    await asyncio.shield(process.wait())


async def run_ffmpeg(stream: Any, timeout: float) -> None:
    """Compile an ffmpeg-python graph to argv and run it."""
    argv = ffmpeg.compile(stream, overwrite_output=True)
    # Quiet, machine-friendly stderr: only errors, no progress lines held in memory.
    await run_tool([argv[0], "-nostdin", "-hide_banner", "-loglevel", "error", *argv[1:]], timeout)
