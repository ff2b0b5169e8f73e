"""Fixtures the checks use: image metadata, the app container and its variants,
hosts to run commands in it (testinfra), an HTTP client, and shared measurements."""

from __future__ import annotations

import io
import shlex
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker.errors
import httpx
import pytest
import testinfra

from conformance.container import HealthWatch, Lab, Started
from conformance.profile import Profile
from conformance.session import STATE, SuiteState
from conformance.settings import Resolved
from conformance.verdict import Check, blocked


def _state(request: pytest.FixtureRequest) -> SuiteState:
    return request.config.stash[STATE]


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> Resolved:
    resolved = _state(request).resolved
    assert resolved is not None, "the conformance plugin did not resolve its settings"
    return resolved


@pytest.fixture(scope="session")
def contract(conformance: Resolved) -> Profile:
    """The profile: every threshold a check compares with."""
    return conformance.profile


@pytest.fixture
def check(request: pytest.FixtureRequest) -> Check:
    return Check(request.node)


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Lab:
    state = _state(request)
    assert state.lab is not None
    return state.lab


# -- image metadata (no running container) ------------------------------------
@pytest.fixture(scope="session")
def image_attrs(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _state(request).image_attrs


@pytest.fixture(scope="session")
def image_config(image_attrs: dict[str, Any]) -> dict[str, Any]:
    return dict(image_attrs.get("Config") or {})


@pytest.fixture(scope="session")
def image_history(lab: Lab) -> list[dict[str, Any]]:
    return list(lab.client.api.history(lab.image))


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str
    shell: str


def read_image_file(lab: Lab, path: str) -> str | None:
    """A file of the image, read from a created (never started) container."""
    container = lab.create_stopped(command=["true"], entrypoint=[])
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member else None
            return handle.read().decode(errors="replace") if handle else None
    except docker.errors.NotFound:
        return None
    finally:
        container.remove(force=True)


def parse_passwd(text: str) -> dict[str, PasswdEntry]:
    entries = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit() and parts[3].isdigit():
            entries[parts[0]] = PasswdEntry(
                parts[0], int(parts[2]), int(parts[3]), parts[5], parts[6]
            )
    return entries


@pytest.fixture(scope="session")
def image_passwd(lab: Lab) -> dict[str, PasswdEntry]:
    return parse_passwd(read_image_file(lab, "/etc/passwd") or "")


@pytest.fixture(scope="session")
def healthcheck_test(image_config: dict[str, Any]) -> list[str]:
    """The image's HEALTHCHECK as an exec argv."""
    test = list((image_config.get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        blocked("IMG-HEALTHCHECK", "the image declares no HEALTHCHECK")
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return test[1:]


@pytest.fixture(scope="session")
def healthcheck_timeout_s(image_config: dict[str, Any]) -> float:
    return float((image_config.get("Healthcheck") or {}).get("Timeout") or 30e9) / 1e9


# -- the app container ---------------------------------------------------------
def _variant(request: pytest.FixtureRequest, name: str) -> Started:
    state = _state(request)
    assert state.lab is not None
    return state.lab.get(state.specs[name])


@pytest.fixture(scope="session")
def app_start(request: pytest.FixtureRequest) -> Started:
    """The app container as started, whether or not it became ready."""
    return _variant(request, "app")


@pytest.fixture(scope="session")
def app(app_start: Started) -> Started:
    """The app container, serving; checks that need it are blocked when it is not."""
    if app_start.exit_code is not None:
        blocked("RUN-STARTS", f"the app container exited with code {app_start.exit_code}")
    if app_start.ready_after_s is None:
        blocked("RUN-READY", f"the app never served: {app_start.problem}")
    return app_start


@pytest.fixture(scope="session")
def image_host(app: Started, contract: Profile) -> Any:
    """testinfra host running commands as the app user in the app container."""
    return testinfra.get_host(f"docker://{contract.image.user}@{app.container.id}")


@pytest.fixture(scope="session")
def root_host(app: Started) -> Any:
    return testinfra.get_host(f"docker://root@{app.container.id}")


@pytest.fixture(scope="session")
def http(app: Started) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app.base_url, timeout=10.0) as client:
        yield client


def _gated_variant(request: pytest.FixtureRequest, name: str) -> Started:
    request.getfixturevalue("app")  # a variant of an app that can't start proves nothing new
    return _variant(request, name)


@pytest.fixture(scope="session")
def hardened_run(request: pytest.FixtureRequest) -> Started:
    return _gated_variant(request, "hardened")


@pytest.fixture(scope="session")
def min_resources_run(request: pytest.FixtureRequest) -> Started:
    return _gated_variant(request, "min_resources")


@pytest.fixture(scope="session")
def static_off_run(request: pytest.FixtureRequest) -> Started:
    return _gated_variant(request, "static_off")


@pytest.fixture(scope="session")
def bad_config_run(request: pytest.FixtureRequest) -> Started:
    return _gated_variant(request, "bad_config")


@pytest.fixture(scope="session")
def idle_run(request: pytest.FixtureRequest) -> Started:
    return _variant(request, "idle")


@pytest.fixture(scope="session")
def compose_run(request: pytest.FixtureRequest) -> Started | None:
    """The image run with the compose service's settings; None when the compose file
    cannot be read (DEP-COMPOSE then says why, in one line)."""
    if "compose" not in _state(request).specs:
        return None
    return _gated_variant(request, "compose")


@pytest.fixture(scope="session")
def docker_health(request: pytest.FixtureRequest, app_start: Started) -> HealthWatch:
    """Docker's health status of the app container, watched since it started."""
    state = _state(request)
    assert state.lab is not None
    health = state.image_attrs["Config"].get("Healthcheck") or {}
    return state.lab.watch_health("app", health_deadline_s(health) + 5).result()


def health_deadline_s(health: dict[str, Any]) -> float:
    """start-period + interval + timeout, with Docker's defaults for unset values."""
    ns = 1e9
    return (
        float(health.get("StartPeriod") or 0) / ns
        + float(health.get("Interval") or 30 * ns) / ns
        + float(health.get("Timeout") or 30 * ns) / ns
    )


@dataclass(frozen=True)
class StopResult:
    duration_s: float
    exit_code: int
    logs: str


@pytest.fixture(scope="session")
def stopped_app(app: Started, contract: Profile) -> StopResult:
    """Stops the app container (once, after the checks that need it running)."""
    t0 = time.monotonic()
    app.container.stop(timeout=int(contract.runtime.stop_grace_s))
    duration = time.monotonic() - t0
    app.container.reload()
    return StopResult(duration, int(app.container.attrs["State"]["ExitCode"]), app.logs())


@pytest.fixture(scope="session")
def unwritable_dirs(image_host: Any, contract: Profile) -> list[str]:
    """The profile's data directories the app user cannot write to."""
    failing = []
    for path in contract.fs.writable_dirs:
        probe = shlex.quote(f"{path}/.conformance-write-probe")
        if image_host.run(f"touch {probe} && rm -f {probe}").rc != 0:
            failing.append(path)
    return failing


# -- FFmpeg ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def ffmpeg_ready(image_host: Any) -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if image_host.run(f"{tool} -hide_banner -version").rc != 0:
            blocked("FF-PRESENT", f"{tool} does not run as the app user")


@dataclass(frozen=True)
class Transcode:
    rc: int
    seconds: float
    output: str
    probe: dict[str, Any] | None


def transcode_command(contract: Profile, out: str) -> str:
    clip = contract.ffmpeg.clip_s
    return (
        "ffmpeg -hide_banner -loglevel error -y "
        f"-f lavfi -i testsrc=duration={clip}:size=320x240:rate=25 "
        f"-f lavfi -i sine=frequency=440:duration={clip} "
        f"-c:v libx264 -pix_fmt yuv420p -c:a aac -shortest {shlex.quote(out)}"
    )


def probe_command(out: str) -> str:
    return (
        "ffprobe -v error -show_entries stream=codec_type,codec_name:format=duration "
        f"-of json {shlex.quote(out)}"
    )


def run_transcode(run: Any, contract: Profile, tag: str) -> Transcode:
    """Encode a generated clip with ``run`` (a command runner) and probe the result."""
    import json

    out = f"{contract.ffmpeg.temp_dir}/conformance-{tag}.mp4"
    t0 = time.monotonic()
    rc, output = run(transcode_command(contract, out))
    seconds = time.monotonic() - t0
    probe = None
    if rc == 0:
        prc, text = run(probe_command(out))
        if prc == 0:
            try:
                probe = json.loads(text)
            except ValueError:
                probe = None
    run(f"rm -f {shlex.quote(out)}")
    return Transcode(rc, seconds, output, probe)


@pytest.fixture(scope="session")
def transcode_result(image_host: Any, contract: Profile, ffmpeg_ready: None) -> Transcode:
    def run(cmd: str) -> tuple[int, str]:
        result = image_host.run(cmd)
        return result.rc, result.stdout + result.stderr

    return run_transcode(run, contract, "transcode")


# -- SPA -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def index_html(image_host: Any, contract: Profile) -> str:
    path = f"{contract.fs.frontend_dir}/index.html"
    index = image_host.file(path)
    if not index.exists:
        blocked("FS-FRONTEND", f"{path} is missing")
    return str(index.content_string)
