"""Test clips made on the spot with FFmpeg's lavfi sources (no binary fixtures in the repo)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


def make_clip(
    path: Path,
    *,
    seconds: float = 2,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    codec: str = "libx264",
    faststart: bool = True,
) -> Path:
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", codec, "-pix_fmt", "yuv420p" if codec != "ffv1" else "yuv444p"]
    if codec == "libx264":
        args += ["-preset", "ultrafast"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    if faststart and path.suffix == ".mp4":
        args += ["-movflags", "+faststart"]
    ffmpeg(*args, str(path))
    return path


def probe(path: Path) -> dict[str, str]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,width,height:format=duration,format_name",
            "-of",
            "flat",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        fields[key] = value.strip('"')
    return fields
