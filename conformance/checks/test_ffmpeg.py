"""FF: FFmpeg of the image, run by argv as the app user in the suite's idle container."""

from __future__ import annotations

import httpx
import pytest

from conformance.container import Started
from conformance.fixtures import ToolRunner, Transcode, establish
from conformance.job_api import clip_length_ok, probe_result, wait_for_job
from conformance.probes import tools
from conformance.probes.tools import ToolRun
from conformance.profile import Profile
from conformance.verdict import Check, blocked


@pytest.mark.check("FF-PRESENT")
def test_ffmpeg_present(ffmpeg_versions: dict[str, ToolRun], check: Check) -> None:
    versions, missing = [], []
    for tool, result in ffmpeg_versions.items():
        if result.ok:
            versions.append(result.stdout.splitlines()[0] if result.stdout else tool)
        else:
            missing.append(f"{tool} ({result.why(80)})")
    check.expect(
        not missing,
        "; ".join(versions) + (f"; not runnable: {', '.join(missing)}" if missing else ""),
        f"{' and '.join(ffmpeg_versions)} run as the app user (profile ffmpeg.tools)",
        "install FFmpeg in the runtime stage, on PATH, executable by everyone (mode 755)",
    )


def _listed(run_tool: ToolRunner, kind: str) -> set[str]:
    result = run_tool(["ffmpeg", "-hide_banner", f"-{kind}"])
    if not result.ok:
        pytest.fail(
            f"could not establish the fact: `ffmpeg -{kind}` failed ({result.why()})",
            pytrace=False,
        )
    output = result.stdout
    names: set[str] = set()
    body = output.split("--", 1)[-1] if kind != "filters" else output
    for line in body.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            names.update(parts[1].split(","))
    return names


@pytest.mark.check("FF-CODECS")
def test_ffmpeg_codecs(
    run_tool: ToolRunner, contract: Profile, check: Check, ffmpeg_ready: None
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
        listed = _listed(run_tool, kind)
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
            f"ffmpeg failed: {result.output.strip()[:200]}",
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
    expected = (
        f"h264 + aac, {ff.clip_s:g} s ± {ff.duration_tolerance_s:g}, encoded in ≤ "
        f"{ff.transcode_max_s:g} s"
    )
    check.expect(
        streams.get("video") == "h264"
        and streams.get("audio") == "aac"
        and clip_length_ok(duration, ff)
        and result.seconds <= ff.transcode_max_s,
        measured,
        expected,
        fix,
    )


@pytest.mark.check("FF-TRANSCODE")
def test_transcode_through_api(
    http: httpx.Client,
    idle_run: Started,
    run_tool: ToolRunner,
    contract: Profile,
    check: Check,
    ffmpeg_ready: None,
    bindings_result: ToolRun,
    unwritable_dirs: list[str],
    transcode_result: Transcode,
) -> None:
    """End to end: upload a clip to the video API, wait for the job, probe its output.
    The clip is made, and the result probed, by the image's own FFmpeg (conformance.job_api)."""
    ff = contract.ffmpeg
    if not ff.video_api:
        pytest.skip("profile ffmpeg.video_api = false: this image has no video pipeline API")
    if unwritable_dirs:
        blocked("FS-WRITABLE", f"the pipeline cannot write to {', '.join(unwritable_dirs)}")
    if not bindings_result.ok:
        blocked("FF-BINDINGS", "the pipeline drives FFmpeg through ffmpeg-python, which fails")
    if transcode_result.rc != 0:
        blocked("FF-TRANSCODE", "a clip does not transcode even without the API")
    # The upload is the clip FF-TRANSCODE made directly (and probed) in the idle container.
    body = establish(lambda: tools.read_file(idle_run.container, transcode_result.path))
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
    job = wait_for_job(http, ff.video_api_path, str(job_id), ff.video_api_timeout_s)
    check.expect(
        job.get("status") == "succeeded",
        f"job {job_id} is {job.get('status')}: {str(job.get('error') or '')[:160]}",
        f"succeeded within {ff.video_api_timeout_s:g} s",
        "look at the container logs for the failing pipeline step",
    )
    url = str((job.get("result") or {}).get("file_url") or "")
    # The key goes to the image only, never to a storage URL elsewhere.
    result = http.get(url) if url.startswith("/") else httpx.get(url, timeout=30)
    check.expect(
        result.status_code == 200,
        f"GET {url}: HTTP {result.status_code}",
        "the output MP4",
        "serve result.file_url",
    )
    streams, duration = probe_result(idle_run, run_tool, contract, result.content, "api-result")
    check.expect(
        streams.get("video") == "h264"
        and streams.get("audio") == "aac"
        and clip_length_ok(duration, ff),
        f"upload → job {job.get('status')} → video {streams.get('video')}, audio "
        f"{streams.get('audio')}, {duration:.2f} s",
        f"an H.264/AAC MP4 of {ff.clip_s:g} s ± {ff.duration_tolerance_s:g} from the video API",
        "the pipeline must produce H.264/AAC MP4 of the uploaded clip's length",
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
def bindings_result(run_tool: ToolRunner, contract: Profile, ffmpeg_ready: None) -> ToolRun:
    return run_tool([contract.fs.python, "-c", _BINDINGS_SCRIPT])


@pytest.mark.check("FF-BINDINGS")
def test_ffmpeg_python_bindings(bindings_result: ToolRun, check: Check) -> None:
    result = bindings_result
    got = result.stdout.strip()
    check.expect(
        result.ok and got == "10",
        f"{got} frames" if result.ok else result.why(200),
        "10 scaled frames out of an ffmpeg-python graph",
        "install ffmpeg-python (not the unrelated `ffmpeg` package) in the app's venv",
    )
