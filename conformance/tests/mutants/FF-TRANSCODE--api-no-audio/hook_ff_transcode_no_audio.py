"""Mutant FF-TRANSCODE--api-no-audio: the video API's pipeline drops the audio (every
upload is taken for silent), so its result is an H.264 MP4 without an AAC stream.
FFmpeg itself is untouched: the direct transcode in the idle container still passes."""

import mutantlib

_patched = [False]


async def handler(scope, send, call_next):
    if not _patched[0]:  # the app's modules are imported by now
        from app.services.probe import MediaInfo

        MediaInfo.has_audio = property(lambda self: False)
        _patched[0] = True
    await call_next(send)


if mutantlib.is_server():
    mutantlib.patch_http(handler)
