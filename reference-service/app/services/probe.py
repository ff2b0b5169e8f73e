"""ffprobe a file and decide whether it is a video this service accepts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.ffmpeg_runner import MediaToolError, run_tool

PROBE_TIMEOUT_SECONDS = 30.0

# Containers and codecs accepted as input. Anything else is answered with 415,
# before any work is queued (ffprobe happily "detects" text files as tty video).
ACCEPTED_FORMATS = frozenset(
    [
        "mov",
        "mp4",
        "m4a",
        "3gp",
        "3g2",
        "mj2",
        "matroska",
        "webm",
        "avi",
        "mpegts",
        "mpeg",
        "flv",
        "ogg",
        "asf",
        "gif",
    ]
)
ACCEPTED_VIDEO_CODECS = frozenset(
    [
        "h264",
        "hevc",
        "vp8",
        "vp9",
        "av1",
        "mpeg4",
        "mpeg1video",
        "mpeg2video",
        "mjpeg",
        "prores",
        "theora",
        "h263",
        "gif",
        "wmv1",
        "wmv2",
        "wmv3",
        "vc1",
        "msmpeg4v3",
        "dnxhd",
    ]
)


# ffprobe diagnostics worth translating into words a client can act on.
_PROBE_HINTS = (
    ("moov atom not found", "the MP4 is incomplete (its index is missing): was it cut short?"),
    ("Invalid data found", "the data is not in any video format FFmpeg recognises"),
    ("End of file", "the file ends before its first frames: was it cut short?"),
    ("timed out", "inspecting it took too long"),
)
UNREADABLE = "not a readable video file"


class MediaRejected(Exception):
    """The file is not usable input. `code`/`status` become the HTTP error.

    `detail` is for the client and never holds server paths or tool output;
    `diagnostic` (the tool's own words) is only for the server's log.
    """

    def __init__(
        self, status_code: int, code: str, detail: str, diagnostic: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.diagnostic = diagnostic


def unreadable_reason(diagnostic: str) -> str:
    """A plain-words reason for an ffprobe failure; the raw stderr names our temp file."""
    hint = next((words for marker, words in _PROBE_HINTS if marker in diagnostic), None)
    return f"{UNREADABLE}: {hint}" if hint else f"{UNREADABLE} (truncated or corrupt?)"


@dataclass(frozen=True)
class MediaInfo:
    format_names: tuple[str, ...]
    duration: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    size_bytes: int
    # The longest of the video and audio streams where the container says (the format's
    # duration also counts subtitle and data tracks): what a complete decode must reach.
    media_duration: float | None = None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


_decoders: frozenset[str] | None = None
_DECODER_LINE = re.compile(r"^\s*V\S{5}\s+(?P<name>\S+)\s+.*?(?:\(codec (?P<codec>\w+)\))?\s*$")


async def video_decoders() -> frozenset[str]:
    """Codec names this FFmpeg build can decode (a minimal build lacks many)."""
    global _decoders
    if _decoders is None:
        out = await run_tool(["ffmpeg", "-hide_banner", "-decoders"], PROBE_TIMEOUT_SECONDS)
        names = set()
        for line in out.decode(errors="replace").splitlines():
            match = _DECODER_LINE.match(line)
            if match:
                names.add(match["codec"] or match["name"])
        _decoders = frozenset(names)
    return _decoders


async def ffprobe(path: Path) -> dict[str, Any]:
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    out = await run_tool([*argv, str(path)], PROBE_TIMEOUT_SECONDS)
    return dict(json.loads(out or b"{}"))


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _duration(data: dict[str, Any], video: dict[str, Any]) -> float:
    for value in (data.get("format", {}).get("duration"), video.get("duration")):
        seconds = _seconds(value)
        if seconds is not None:
            return seconds
    return 0.0


def parse_media_info(
    data: dict[str, Any], size_bytes: int, decoders: frozenset[str] | None = None
) -> MediaInfo:
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    format_names = tuple(str(data.get("format", {}).get("format_name", "")).split(","))
    if video is None:
        detail = "the file has no video stream"
        if audio is not None:
            detail += " (audio-only files are not accepted)"
        raise MediaRejected(415, "unsupported_media", detail)
    if not ACCEPTED_FORMATS.intersection(format_names):
        raise MediaRejected(
            415, "unsupported_media", f"unsupported container format: {','.join(format_names)}"
        )
    codec = str(video.get("codec_name", "unknown"))
    if codec not in ACCEPTED_VIDEO_CODECS or (decoders is not None and codec not in decoders):
        raise MediaRejected(415, "unsupported_media", f"unsupported video codec: {codec}")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    duration = _duration(data, video)
    if width <= 0 or height <= 0 or duration <= 0:
        raise MediaRejected(422, "invalid_media", "the video stream has no frames or no size")
    stream_seconds = [_seconds(s.get("duration")) for s in (video, audio) if s is not None]
    return MediaInfo(
        format_names=format_names,
        duration=duration,
        width=width,
        height=height,
        video_codec=codec,
        audio_codec=str(audio["codec_name"]) if audio and audio.get("codec_name") else None,
        size_bytes=size_bytes,
        media_duration=max((s for s in stream_seconds if s is not None), default=None),
    )


async def inspect_video(path: Path) -> MediaInfo:
    """Probe `path`; raise MediaRejected with a client-facing reason when it is not a video."""
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected(400, "empty_file", "the file is empty")
    try:
        data = await ffprobe(path)
    except MediaToolError as exc:
        raise MediaRejected(
            422, "invalid_media", unreadable_reason(str(exc)), diagnostic=str(exc)
        ) from None
    return parse_media_info(data, size, await video_decoders())
