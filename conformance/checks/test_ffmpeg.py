"""FF: FFmpeg in the image, run as the app user."""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import httpx
import pytest

from conformance.fixtures import Transcode, probe_command
from conformance.profile import Profile
from conformance.verdict import Check, blocked


@pytest.mark.check("FF-PRESENT")
def test_ffmpeg_present(image_host: Any, check: Check) -> None:
    versions, missing = [], []
    for tool in ("ffmpeg", "ffprobe"):
        result = image_host.run(f"{tool} -hide_banner -version")
        if result.rc == 0:
            versions.append(result.stdout.splitlines()[0] if result.stdout else tool)
        else:
            missing.append(
                f"{tool} ({(result.stderr or result.stdout).strip()[:80] or f'exit {result.rc}'})"
            )
    check.expect(
        not missing,
        "; ".join(versions) + (f"; not runnable: {', '.join(missing)}" if missing else ""),
        "ffmpeg and ffprobe run as the app user",
        "install FFmpeg in the runtime stage, on PATH, executable by everyone (mode 755)",
    )


def _listed(image_host: Any, kind: str) -> set[str]:
    output = image_host.run(f"ffmpeg -hide_banner -{kind}").stdout
    names: set[str] = set()
    body = output.split("--", 1)[-1] if kind != "filters" else output
    for line in body.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names.update(parts[1].split(","))
    return names


@pytest.mark.check("FF-CODECS")
def test_ffmpeg_codecs(
    image_host: Any, contract: Profile, check: Check, ffmpeg_ready: None
) -> None:
    ff = contract.ffmpeg
    wanted = {
        "encoders": ff.encoders,
        "decoders": ff.decoders,
        "muxers": ff.muxers,
        "filters": ff.filters,
    }
    missing = []
    for kind, names in wanted.items():
        listed = _listed(image_host, kind)
        missing += [f"{kind[:-1]} {name}" for name in names if name not in listed]
    check.expect(
        not missing,
        f"missing: {', '.join(missing)}" if missing else "all listed",
        "; ".join(f"{kind}: {', '.join(names)}" for kind, names in wanted.items()),
        "build/install FFmpeg with these components enabled (e.g. --enable-libx264 --enable-gpl)",
    )


@pytest.mark.check("FF-TRANSCODE")
def test_transcode(transcode_result: Transcode, contract: Profile, check: Check) -> None:
    ff = contract.ffmpeg
    result = transcode_result
    fix = "make sure ffmpeg can encode libx264 + aac to MP4 as the app user in the temp dir"
    if result.rc != 0:
        check.fail(
            f"ffmpeg exited {result.rc}: {result.output.strip()[:200]}",
            f"a {ff.clip_s:g} s H.264/AAC MP4 in {ff.temp_dir}",
            fix,
        )
    streams = {
        s.get("codec_type"): s.get("codec_name") for s in (result.probe or {}).get("streams", [])
    }
    duration = float((result.probe or {}).get("format", {}).get("duration") or 0)
    measured = (
        f"video {streams.get('video')}, audio {streams.get('audio')}, {duration:.2f} s "
        f"in {result.seconds:.1f} s"
    )
    expected = f"h264 + aac, {ff.clip_s:g} s ± 0.5, encoded in ≤ {ff.transcode_max_s:g} s"
    check.expect(
        streams.get("video") == "h264"
        and streams.get("audio") == "aac"
        and abs(duration - ff.clip_s) <= 0.5
        and result.seconds <= ff.transcode_max_s,
        measured,
        expected,
        fix,
    )


@pytest.mark.check("FF-TRANSCODE")
def test_transcode_through_api(
    http: httpx.Client,
    image_host: Any,
    contract: Profile,
    check: Check,
    ffmpeg_ready: None,
    bindings_result: Any,
    unwritable_dirs: list[str],
) -> None:
    """End to end: upload a clip to the video API, wait for the job, probe its output."""
    ff = contract.ffmpeg
    if not ff.video_api:
        pytest.skip("profile ffmpeg.video_api = false: this image has no video pipeline API")
    if unwritable_dirs:
        blocked("FS-WRITABLE", f"the pipeline cannot write to {', '.join(unwritable_dirs)}")
    if bindings_result.rc != 0:
        blocked("FF-BINDINGS", "the pipeline drives FFmpeg through ffmpeg-python, which fails")
    clip = f"{ff.temp_dir}/conformance-upload.mp4"
    made = image_host.run(
        "ffmpeg -hide_banner -loglevel error -y -f lavfi -i "
        f"testsrc=duration={ff.clip_s}:size=320x240:rate=25 "
        f"-f lavfi -i sine=duration={ff.clip_s} -c:v libx264 -pix_fmt yuv420p -c:a aac "
        f"-shortest {clip} "
        f"&& base64 -w0 {clip}; rc=$?; rm -f {clip}; exit $rc"
    )
    if made.rc != 0:
        check.fail(
            f"could not make the upload clip: {made.stderr[:200]}",
            "an uploadable clip",
            "see FF-TRANSCODE",
        )
    import base64

    body = base64.b64decode(made.stdout)
    response = http.post(ff.video_api_path, files={"file": ("clip.mp4", body, "video/mp4")})
    fix = (
        f"POST {ff.video_api_path} must take a multipart `file` and answer 202 with the job's `id`"
    )
    check.expect(
        response.status_code == 202,
        f"HTTP {response.status_code}: {response.text[:160]}",
        "202 with a job",
        fix,
    )
    job_id = response.json().get("id")
    deadline = time.monotonic() + ff.video_api_timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = http.get(f"{ff.video_api_path}/{job_id}").json()
        if job.get("status") in ("succeeded", "failed"):
            break
        time.sleep(0.25)
    check.expect(
        job.get("status") == "succeeded",
        f"job {job_id} is {job.get('status')}: {str(job.get('error') or '')[:160]}",
        f"succeeded within {ff.video_api_timeout_s:g} s",
        "look at the container logs for the failing pipeline step",
    )
    url = str((job.get("result") or {}).get("file_url") or "")
    result = http.get(url) if url.startswith("/") else httpx.get(url, timeout=30)
    check.expect(
        result.status_code == 200,
        f"GET {url}: HTTP {result.status_code}",
        "the output MP4",
        "serve result.file_url",
    )
    out = f"{ff.temp_dir}/conformance-api-result.mp4"
    encoded = base64.b64encode(result.content).decode()
    image_host.run(f"printf %s {shlex.quote(encoded)} | base64 -d > {out}")
    probe = image_host.run(probe_command(out) + f"; rm -f {out}")
    try:
        streams = sorted(s.get("codec_name") for s in json.loads(probe.stdout)["streams"])
    except (ValueError, KeyError):
        streams = []
    check.expect(
        "h264" in streams,
        f"upload → job {job.get('status')} → streams {', '.join(map(str, streams)) or 'none'}",
        "an H.264 MP4 from the video API",
        "the pipeline must produce H.264/AAC MP4",
    )


# A graph built by ffmpeg-python, run by ffmpeg, its frames counted through a pipe.
_BINDINGS_SCRIPT = """
import ffmpeg
out, _ = (
    ffmpeg.input('testsrc=duration=1:size=64x48:rate=10', f='lavfi')
    .filter('scale', 32, 24)
    .output('pipe:', format='framemd5')
    .run(capture_stdout=True, capture_stderr=True)
)
print(sum(1 for line in out.decode().splitlines() if line and not line.startswith('#')))
"""


@pytest.fixture(scope="session")
def bindings_result(image_host: Any, contract: Profile, ffmpeg_ready: None) -> Any:
    return image_host.run(f"{contract.fs.python} -c {shlex.quote(_BINDINGS_SCRIPT)}")


@pytest.mark.check("FF-BINDINGS")
def test_ffmpeg_python_bindings(bindings_result: Any, check: Check) -> None:
    result = bindings_result
    got = result.stdout.strip()
    check.expect(
        result.rc == 0 and got == "10",
        f"{got} frames" if result.rc == 0 else f"exit {result.rc}: {result.stderr.strip()[-200:]}",
        "10 scaled frames out of an ffmpeg-python graph",
        "install ffmpeg-python (not the unrelated `ffmpeg` package) in the app's venv",
    )
