"""Test clips made on the spot with FFmpeg's lavfi sources (no binary fixtures in the repo).

The arguments are built here once; who runs them is the caller's choice: the host's
FFmpeg for the unit tests, the image's own FFmpeg for the tests against the image
(a newcomer's machine has no FFmpeg of its own).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

# A tool runner: (tool name, arguments) -> the tool's stdout; raises when the tool fails.
Runner = Callable[[str, list[str]], str]


def host_tool(tool: str, args: list[str]) -> str:
    done = subprocess.run([tool, *args], check=True, capture_output=True, text=True, timeout=120)
    return done.stdout


def clip_args(
    target: str,
    *,
    seconds: float = 2,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    codec: str = "libx264",
    faststart: bool = True,
) -> list[str]:
    args = [
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate={rate}:duration={seconds}",
    ]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", codec, "-pix_fmt", "yuv420p" if codec != "ffv1" else "yuv444p"]
    if codec == "libx264":
        args += ["-preset", "ultrafast"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    if faststart and target.endswith(".mp4"):
        args += ["-movflags", "+faststart"]
    return [*args, target]


def make_clip(path: Path, *, run: Runner = host_tool, **options: object) -> Path:
    run("ffmpeg", clip_args(str(path), **options))  # type: ignore[arg-type]
    return path


PROBE_ENTRIES = "stream=codec_type,codec_name,width,height:format=duration,format_name"


def probe_args(target: str) -> list[str]:
    return ["-v", "error", "-show_entries", PROBE_ENTRIES, "-of", "flat", target]


def parse_flat(out: str) -> dict[str, str]:
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        fields[key] = value.strip('"')
    return fields


def probe(path: Path, *, run: Runner = host_tool) -> dict[str, str]:
    return parse_flat(run("ffprobe", probe_args(str(path))))
