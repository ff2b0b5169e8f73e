"""The image's video API as the checks drive it: wait for a job, probe what it made.

The result is probed by the image's own FFmpeg in the idle container (the file goes in
through the engine's archive API: no shell, no size limit).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from conformance.container import Started
from conformance.fixtures import ToolRunner, establish, probe_streams
from conformance.probes import tools
from conformance.profile import Ffmpeg, Profile

FINISHED = ("succeeded", "failed", "cancelled")


def wait_for_job(http: httpx.Client, path: str, job_id: str, timeout_s: float) -> dict[str, Any]:
    """The job once it has finished, or as it was when ``timeout_s`` ran out."""
    deadline = time.monotonic() + timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = http.get(f"{path}/{job_id}").json()
        if job.get("status") in FINISHED:
            break
        time.sleep(0.25)
    return job


def probe_result(
    idle: Started, run_tool: ToolRunner, contract: Profile, content: bytes, tag: str
) -> tuple[dict[str, str], float]:
    """(codec of each stream type, duration in seconds) of a downloaded result."""
    out = f"{contract.ffmpeg.temp_dir}/conformance-{tag}.mp4"
    establish(lambda: tools.write_file(idle.container, out, content))
    probe = probe_streams(run_tool, out, "ffprobe" in contract.ffmpeg.tools) or {}
    streams = {s.get("codec_type"): s.get("codec_name") for s in probe.get("streams", [])}
    return streams, float(probe.get("format", {}).get("duration") or 0)


def clip_length_ok(duration: float, ff: Ffmpeg) -> bool:
    """The one duration rule of every pipeline result: the clip's length within the
    profile's tolerance (ffmpeg.clip_s ± ffmpeg.duration_tolerance_s)."""
    return abs(duration - ff.clip_s) <= ff.duration_tolerance_s
