"""Real-world inputs and what the service does with each, defined once.

tests/integration/test_input_matrix.py makes every input and sends it through the image;
the table in docs/service.md is rendered from the same definitions (`python -m
tests.input_matrix` rewrites it, tests/test_input_matrix_doc.py fails when it is stale).
So the documented outcome of each row is the outcome a test saw.

Each input is made on the spot with FFmpeg's lavfi sources, by the image's own FFmpeg
where it has the encoder, else (HEVC, MPEG-4 Part 2 in AVI, GIF, ProRes, AV1: encoders
and muxers the service never needs) by Debian's full build of the same FFmpeg source
(tests/integration/media_maker/Dockerfile).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SECONDS = 1
# Truncated inputs are longer, so that losing half of them is well past the tolerance.
LONG_SECONDS = 2
WIDTH, HEIGHT = 320, 240
RATE = 25

Maker = Literal["image", "debian"]


@dataclass(frozen=True)
class Accepted:
    """A job that succeeds with an H.264 (8-bit 4:2:0) MP4 of this size, AAC when `audio`."""

    width: int
    height: int
    audio: bool
    seconds: float = SECONDS
    note: str = ""


@dataclass(frozen=True)
class Refused:
    """The upload is answered with this error; no job is created."""

    status: int
    code: str
    detail: str


@dataclass(frozen=True)
class Fails:
    """A job is created and fails; `{n}` in the reason stands for a number of seconds."""

    reason: str

    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.reason).replace(r"\{n\}", r"\d+\.\d"))


Outcome = Accepted | Refused | Fails


@dataclass(frozen=True)
class InputCase:
    id: str
    what: str
    container: str
    video: str
    audio: str
    filename: str
    maker: Maker
    # FFmpeg arguments up to (not including) the output file.
    args: tuple[str, ...]
    expect: Outcome
    # Keep only this fraction of the file's bytes (a transfer cut short).
    keep_fraction: float | None = None


def _sources(
    seconds: float = SECONDS,
    *,
    audio: bool = True,
    rate: int = RATE,
    video_options: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """lavfi test picture (and tone); `video_options` apply to the picture input."""
    picture = f"testsrc=size={WIDTH}x{HEIGHT}:rate={rate}:duration={seconds}"
    video = (*video_options, "-f", "lavfi", "-i", picture)
    if not audio:
        return ("-v", "error", "-y", *video)
    sound = ("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}")
    return ("-v", "error", "-y", *video, *sound, "-shortest")


X264 = ("-c:v", "libx264", "-preset", "ultrafast")
AAC = ("-c:a", "aac")
CUT_SHORT = "the video is damaged or cut short: only {n} s of its 2.0 s could be decoded"

CASES: tuple[InputCase, ...] = (
    InputCase(
        id="h264-mp4",
        what="the common case",
        container="MP4",
        video="H.264 8-bit",
        audio="AAC",
        filename="clip.mp4",
        maker="image",
        args=(*_sources(), *X264, "-pix_fmt", "yuv420p", *AAC, "-movflags", "+faststart"),
        expect=Accepted(WIDTH, HEIGHT, audio=True),
    ),
    InputCase(
        id="hevc-mov",
        what="iPhone default (`hvc1`)",
        container="MOV",
        video="HEVC 8-bit",
        audio="AAC",
        filename="IMG_0001.MOV",
        maker="debian",
        args=(
            *_sources(),
            *("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"),
            *("-tag:v", "hvc1", "-pix_fmt", "yuv420p", *AAC, "-f", "mov"),
        ),
        expect=Accepted(WIDTH, HEIGHT, audio=True),
    ),
    InputCase(
        id="h264-10bit",
        what="10-bit camera or screen recording",
        container="MP4",
        video="H.264 High 10 (4:2:0 10-bit)",
        audio="AAC",
        filename="10bit.mp4",
        maker="image",
        args=(*_sources(), *X264, "-pix_fmt", "yuv420p10le", *AAC),
        expect=Accepted(WIDTH, HEIGHT, audio=True, note="converted to 8-bit"),
    ),
    InputCase(
        id="vp9-webm",
        what="browser / YouTube download",
        container="WebM",
        video="VP9",
        audio="Opus",
        filename="clip.webm",
        maker="image",
        args=(
            *_sources(),
            *("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"),
            *("-c:a", "libopus"),
        ),
        expect=Accepted(WIDTH, HEIGHT, audio=True),
    ),
    InputCase(
        id="mpeg4-avi",
        what="old camera / DivX-Xvid",
        container="AVI",
        video="MPEG-4 Part 2 (Xvid)",
        audio="MP3",
        filename="clip.avi",
        maker="debian",
        args=(
            *_sources(),
            *("-c:v", "mpeg4", "-vtag", "xvid", "-q:v", "5", "-c:a", "libmp3lame"),
        ),
        expect=Accepted(WIDTH, HEIGHT, audio=True),
    ),
    InputCase(
        id="rotated-phone",
        what="phone held upright: 320x240 coded, display matrix -90°",
        container="MP4",
        video="H.264 + rotation",
        audio="AAC",
        filename="portrait.mp4",
        maker="image",
        # Written as a phone does: frames stored sideways, the rotation as side data
        # (counter-clockwise degrees; ffprobe shows -90).
        args=(
            *_sources(video_options=("-noautorotate", "-display_rotation", "270")),
            *(*X264, "-pix_fmt", "yuv420p", *AAC),
        ),
        expect=Accepted(HEIGHT, WIDTH, audio=True, note="turned upright, no rotation left"),
    ),
    InputCase(
        id="animated-gif",
        what="animated GIF",
        container="GIF",
        video="GIF",
        audio="none",
        filename="anim.gif",
        maker="debian",
        # Made at 10 fps, a usual GIF rate (converting 25 fps with -r 10 lasts 1.2 s).
        args=(*_sources(audio=False, rate=10), "-f", "gif"),
        expect=Accepted(WIDTH, HEIGHT, audio=False),
    ),
    InputCase(
        id="prores-mov",
        what="editing export",
        container="MOV",
        video="Apple ProRes 422",
        audio="PCM",
        filename="edit.mov",
        maker="debian",
        args=(*_sources(), "-c:v", "prores_ks", "-c:a", "pcm_s16le", "-f", "mov"),
        expect=Refused(415, "unsupported_media", "unsupported video codec: prores"),
    ),
    InputCase(
        id="av1-mp4",
        what="newer phones, AV1 downloads",
        container="MP4",
        video="AV1",
        audio="AAC",
        filename="av1.mp4",
        maker="debian",
        args=(*_sources(), "-c:v", "libsvtav1", "-preset", "12", *AAC),
        expect=Refused(415, "unsupported_media", "unsupported video codec: av1"),
    ),
    InputCase(
        id="audio-only",
        what="a voice memo or song",
        container="M4A",
        video="none",
        audio="AAC",
        filename="memo.m4a",
        maker="image",
        args=("-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", *AAC),
        expect=Refused(
            415,
            "unsupported_media",
            "the file has no video stream (audio-only files are not accepted)",
        ),
    ),
    InputCase(
        id="truncated-mp4",
        what="transfer cut in half, index at the end (as cameras write it)",
        container="MP4",
        video="H.264",
        audio="AAC",
        filename="cut.mp4",
        maker="image",
        args=(*_sources(LONG_SECONDS), *X264, "-pix_fmt", "yuv420p", *AAC),
        keep_fraction=0.5,
        expect=Refused(
            422,
            "invalid_media",
            "not a readable video file: the MP4 is incomplete (its index is missing): "
            "was it cut short?",
        ),
    ),
    InputCase(
        id="truncated-faststart-mp4",
        what="transfer cut in half, index first (`+faststart`)",
        container="MP4",
        video="H.264",
        audio="AAC",
        filename="cut-faststart.mp4",
        maker="image",
        args=(
            *_sources(LONG_SECONDS),
            *X264,
            *("-pix_fmt", "yuv420p", *AAC, "-movflags", "+faststart"),
        ),
        keep_fraction=0.5,
        expect=Fails(CUT_SHORT),
    ),
)


# --- the table in docs/service.md --------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"
BEGIN = "<!-- input-matrix:begin (generated by python -m tests.input_matrix; do not edit) -->"
END = "<!-- input-matrix:end -->"


def describe_outcome(expect: Outcome) -> str:
    if isinstance(expect, Accepted):
        streams = "H.264 + AAC MP4" if expect.audio else "H.264 MP4 (no audio)"
        note = f", {expect.note}" if expect.note else ""
        return f"accepted → {streams}, {expect.width}x{expect.height}{note}"
    if isinstance(expect, Refused):
        return f"refused at upload: {expect.status} `{expect.code}` “{expect.detail}”"
    return f"job fails: “{expect.reason.replace('{n}', 'N')}”"


def render_table() -> str:
    lines = ["| container | video | audio | typically | outcome |", "|---|---|---|---|---|"]
    for case in CASES:
        lines.append(
            f"| {case.container} | {case.video} | {case.audio} | {case.what} "
            f"| {describe_outcome(case.expect)} |"
        )
    return "\n".join([BEGIN, *lines, END])


def with_table(document: str) -> str:
    """`document` with the text between the markers replaced by the current table."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{DOC.name} has no {BEGIN!r} ... {END!r} markers")
    return document[:start] + render_table() + document[end + len(END) :]


def main() -> int:
    current = DOC.read_text(encoding="utf-8")
    updated = with_table(current)
    if updated != current:
        DOC.write_text(updated, encoding="utf-8")
        print(f"rewrote the input table in {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
