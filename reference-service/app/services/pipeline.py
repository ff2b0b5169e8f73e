"""The FFmpeg pipeline: normalise (or concatenate) to H.264/AAC MP4 with faststart, then a JPEG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services.ffmpeg_graph import ffmpeg
from app.services.ffmpeg_runner import run_ffmpeg
from app.services.probe import MediaInfo

THUMBNAIL_WIDTH = 640
COMPOSE_FPS = 30
AUDIO_RATE = 48000
VIDEO_OPTIONS: dict[str, Any] = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "pix_fmt": "yuv420p",
    "movflags": "+faststart",
}
AUDIO_OPTIONS: dict[str, Any] = {"acodec": "aac", "audio_bitrate": "128k", "ac": 2}
# How much shorter than its input a result may be and still count as complete: frame
# and audio-packet rounding, and containers whose declared duration is approximate.
SHORTFALL_SECONDS = 0.5
SHORTFALL_FRACTION = 0.05


@dataclass(frozen=True)
class Outputs:
    video: Path
    thumbnail: Path


def cut_short(expected: float, produced: float) -> bool:
    """Whether a result of `produced` seconds lost part of an input declaring `expected`."""
    return expected - produced > max(SHORTFALL_SECONDS, SHORTFALL_FRACTION * expected)


def thumbnail_time(duration: float) -> float:
    # One second in, or the middle of clips shorter than two seconds: frame 0 is often black.
    return min(1.0, duration / 2)


async def _encode(
    video: Any, audio: Any | None, outputs: Outputs, duration: float, timeout: float
) -> None:
    streams = [video, audio] if audio is not None else [video]
    options = {**VIDEO_OPTIONS, **(AUDIO_OPTIONS if audio is not None else {})}
    # A keyframe exactly where the thumbnail is taken: the thumbnail run then
    # decodes one frame instead of everything since the previous keyframe.
    at = f"{thumbnail_time(duration):.3f}"
    movie = ffmpeg.output(*streams, str(outputs.video), f="mp4", force_key_frames=at, **options)
    await run_ffmpeg(movie, timeout)


async def thumbnail(outputs: Outputs, duration: float, timeout: float) -> None:
    """The JPEG, at the instant the encode of a `duration`-second input put a keyframe.

    A second short run, seeking in the finished file: measured cheaper than splitting
    the decoded stream into the encode. Run only once the result is known to be whole.
    """
    at = f"{thumbnail_time(duration):.3f}"
    still = ffmpeg.input(str(outputs.video), ss=at).video.filter(
        "scale", f"min({THUMBNAIL_WIDTH},iw)", -2
    )
    picture = ffmpeg.output(still, str(outputs.thumbnail), vframes=1, f="image2", **{"q:v": 3})
    await run_ffmpeg(picture, timeout)


async def normalize(source: Path, info: MediaInfo, outputs: Outputs, timeout: float) -> None:
    clip = ffmpeg.input(str(source))
    video = clip.video
    if info.width % 2 or info.height % 2:
        # x264 with 4:2:0 needs even dimensions; skipped otherwise to keep the graph lean.
        video = video.filter("scale", "trunc(iw/2)*2", "trunc(ih/2)*2")
    audio = clip.audio if info.has_audio else None
    await _encode(video, audio, outputs, info.duration, timeout)


async def compose(sources: list[tuple[Path, MediaInfo]], outputs: Outputs, timeout: float) -> None:
    """Concatenate clips at the first clip's size: scale+pad, common fps, silence where needed."""
    width = sources[0][1].width // 2 * 2
    height = sources[0][1].height // 2 * 2
    parts: list[Any] = []
    for index, (path, info) in enumerate(sources):
        # ffmpeg-python treats nodes with equal arguments as one: the same video twice (or
        # two silent clips of one length) would become one input with two outgoing edges,
        # which FFmpeg refuses. A packet queue size that differs by position (it only
        # sizes the demuxer's queue) keeps each input its own.
        distinct = {"thread_queue_size": 512 + index}
        clip = ffmpeg.input(str(path), **distinct)
        video = (
            clip.video.filter("scale", width, height, force_original_aspect_ratio="decrease")
            .filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2")
            .filter("setsar", 1)
            .filter("fps", COMPOSE_FPS)
            .filter("format", "yuv420p")
        )
        if info.has_audio:
            audio = clip.audio
        else:
            audio = ffmpeg.input(
                f"anullsrc=r={AUDIO_RATE}:cl=stereo",
                f="lavfi",
                t=f"{info.duration:.3f}",
                **distinct,
            ).audio
        audio = audio.filter("aresample", AUDIO_RATE).filter(
            "aformat", sample_fmts="fltp", channel_layouts="stereo"
        )
        parts.extend([video, audio])
    joined = ffmpeg.concat(*parts, v=1, a=1).node
    total = sum(info.duration for _, info in sources)
    await _encode(joined[0], joined[1], outputs, total, timeout)
