"""Fixtures that hand facts to the checks: image metadata, the image's filesystem, the
app container and its variants, programs of the image run by argv, an HTTP client,
and shared measurements. The gathering itself lives in conformance/probes/."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import testinfra

from conformance.container import HealthWatch, Lab, Started, last_log_lines
from conformance.credentials import auth_headers
from conformance.probes import FactError, tools
from conformance.probes.accounts import PasswdEntry, parse_passwd, supplementary_gids
from conformance.probes.filesystem import DEFAULT_PATH, ImageFilesystem, writable_by
from conformance.probes.tools import ToolRun
from conformance.profile import Profile
from conformance.session import STATE, SuiteState
from conformance.settings import Resolved
from conformance.variants import VARIANTS, Variant
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


# -- the image's filesystem (exported, never started: no shell needed) -----------------
T = TypeVar("T")


def establish(gather: Callable[[], T]) -> T:
    """The gathered fact, or the check's error naming why it could not be established
    (one line: raised outside the handler, so no exception chain is shown)."""
    __tracebackhide__ = True
    try:
        return gather()
    except FactError as exc:
        reason = str(exc)
    pytest.fail(f"could not establish the fact: {reason}", pytrace=False)


@pytest.fixture(scope="session")
def image_fs(request: pytest.FixtureRequest) -> ImageFilesystem:
    """Every path of the image with mode and owner, plus passwd, group and index.html."""
    lab = _state(request).lab
    assert lab is not None
    return establish(lambda: lab.image_filesystem().result())


@pytest.fixture(scope="session")
def image_passwd(image_fs: ImageFilesystem) -> dict[str, PasswdEntry]:
    return parse_passwd(establish(lambda: image_fs.read_text("/etc/passwd")))


@pytest.fixture(scope="session")
def search_path(image_config: dict[str, Any]) -> str:
    """The image's own PATH (Docker's default when it sets none)."""
    for item in image_config.get("Env") or []:
        if item.startswith("PATH="):
            return str(item[5:])
    return DEFAULT_PATH


def find_account(passwd: dict[str, PasswdEntry], user: str) -> PasswdEntry | None:
    """The passwd entry of a user given by name or by numeric UID."""
    name = user.split(":", 1)[0]
    if name in passwd:
        return passwd[name]
    if name.isdigit():
        return next((e for e in passwd.values() if e.uid == int(name)), None)
    return None


@dataclass(frozen=True)
class Account:
    """The app user as the image defines it: uid and every group it is in."""

    entry: PasswdEntry
    gids: frozenset[int]


@pytest.fixture(scope="session")
def app_account(
    image_fs: ImageFilesystem, image_passwd: dict[str, PasswdEntry], contract: Profile
) -> Account:
    """The app user; checks that need it are blocked by FS-APPUSER when it is missing."""
    entry = find_account(image_passwd, contract.image.user)
    if entry is None:
        blocked("FS-APPUSER", f"user {contract.image.user} is not in the image's /etc/passwd")
    groups = establish(lambda: image_fs.read_text("/etc/group"))
    return Account(entry, frozenset({entry.gid} | supplementary_gids(groups, entry.name)))


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
    if app_start.start_error is not None:
        blocked("RUN-STARTS", f"the app container did not start: {app_start.start_error}")
    if app_start.exit_code is not None:
        blocked("RUN-STARTS", f"the app container exited with code {app_start.exit_code}")
    if app_start.ready_after_s is None:
        blocked("RUN-READY", f"the app never served: {app_start.problem}")
    return app_start


@pytest.fixture(scope="session")
def image_host(app: Started, contract: Profile) -> Any:
    """A testinfra host in the app container, as the app user, for a team's own checks.
    (The suite's checks use none: testinfra's docker backend needs a shell.)"""
    return testinfra.get_host(f"docker://{contract.image.user}@{app.container.id}")


def api_client(base_url: str, profile: Profile, timeout_s: float = 10.0) -> httpx.Client:
    """An HTTP client of a container of the image: every request presents the canary
    API key (the suite's only way of building requests to the image)."""
    return httpx.Client(
        base_url=base_url, timeout=timeout_s, headers=auth_headers(profile), trust_env=False
    )


@pytest.fixture(scope="session")
def http(app: Started, contract: Profile) -> Iterator[httpx.Client]:
    with api_client(app.base_url, contract) as client:
        yield client


def _variant_fixture(variant: Variant) -> Any:
    """The session fixture that hands one variant of the table to the checks."""

    def fixture(request: pytest.FixtureRequest) -> Started | None:
        if variant.name not in _state(request).specs:
            return None  # e.g. no readable compose file: its check says why, in one line
        if variant.after_app:
            request.getfixturevalue("app")
        return _variant(request, variant.name)

    fixture.__doc__ = f"The {variant.name} container (checks: {', '.join(variant.checks)})."
    return pytest.fixture(scope="session", name=variant.fixture)(fixture)


# One fixture per row of the variant table (the app has its own, below the table's).
for _row in VARIANTS:
    if _row.name != "app":
        globals()[_row.fixture] = _variant_fixture(_row)


@pytest.fixture(scope="session")
def docker_health(
    request: pytest.FixtureRequest, app_start: Started, contract: Profile
) -> HealthWatch:
    """Docker's health status of the app container, watched since it started."""
    if app_start.start_error is not None:
        blocked("RUN-STARTS", f"the app container did not start: {app_start.start_error}")
    state = _state(request)
    assert state.lab is not None
    health = state.image_attrs["Config"].get("Healthcheck") or {}
    return state.lab.watch_health("app", health_wait_s(health, contract)).result()


def health_bound_s(profile: Profile) -> float:
    """The longest the contract lets Docker take to report healthy."""
    image = profile.image
    return (
        image.healthcheck_max_start_period_s
        + image.healthcheck_max_interval_s
        + image.healthcheck_max_timeout_s
    )


# Docker schedules its probes a little late; this much slack, never more.
HEALTH_SLACK_S = 5.0


def health_wait_s(health: dict[str, Any], profile: Profile) -> float:
    """How long to follow Docker's health: the image's own deadline, never past the
    contract's bound (an image declaring a 5-minute interval must not hold the suite)."""
    return min(health_deadline_s(health), health_bound_s(profile)) + HEALTH_SLACK_S


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
def unwritable_dirs(
    image_fs: ImageFilesystem, app_account: Account, contract: Profile
) -> list[str]:
    """The profile's data directories the app user cannot write to (or that are missing)."""
    failing = []
    for path in contract.fs.writable_dirs:
        entry = image_fs.lookup(path)
        if entry is None or entry.kind != "dir":
            failing.append(f"{path} (missing)")
        elif not writable_by(entry, app_account.entry.uid, set(app_account.gids)):
            failing.append(path)
    return failing


# -- programs of the image, by argv, in the idle container (nothing serving there) ----
ToolRunner = Callable[..., ToolRun]


@pytest.fixture(scope="session")
def idle(idle_run: Started, contract: Profile) -> Started:
    """The idle container, running; the checks that need it error when it is not."""
    if not idle_run.running():
        why = idle_run.start_error or " ".join(last_log_lines(idle_run.container, 3).split())
        pytest.fail(
            "could not establish the fact: the idle container (the image with its server "
            f"replaced by an idle {contract.fs.python}) did not stay up: {why}",
            pytrace=False,
        )
    return idle_run


@pytest.fixture(scope="session")
def run_tool(idle: Started, image_passwd: dict[str, PasswdEntry], contract: Profile) -> ToolRunner:
    """Runs a program of the image as the app user in the suite's idle container."""
    user = contract.image.user
    if not user.split(":", 1)[0].isdigit() and find_account(image_passwd, user) is None:
        # The engine's own "unable to find user" does not always reach the client.
        pytest.fail(
            f"could not establish the fact: user {user!r} does not exist in the image, "
            "so nothing runs as it",
            pytrace=False,
        )

    def run(argv: list[str], timeout_s: float = 120.0) -> ToolRun:
        __tracebackhide__ = True
        return establish(lambda: tools.run(idle.container, argv, user, timeout_s))

    return run


@pytest.fixture(scope="session")
def ffmpeg_versions(run_tool: ToolRunner, contract: Profile) -> dict[str, ToolRun]:
    """`-version` of each program the profile requires (ffmpeg.tools)."""
    return {tool: run_tool([tool, "-hide_banner", "-version"]) for tool in contract.ffmpeg.tools}


@pytest.fixture(scope="session")
def ffmpeg_ready(ffmpeg_versions: dict[str, ToolRun]) -> None:
    for tool, result in ffmpeg_versions.items():
        if not result.ok:
            blocked("FF-PRESENT", f"{tool} does not run as the app user ({result.why()})")


@dataclass(frozen=True)
class Transcode:
    path: str  # the encoded file, in the container that made it
    rc: int | None
    seconds: float
    output: str
    probe: dict[str, Any] | None


def transcode_argv(contract: Profile, out: str) -> list[str]:
    clip = contract.ffmpeg.clip_s
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=duration={clip}:size=320x240:rate=25",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={clip}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out,
    ]  # fmt: skip


def probe_argv(path: str) -> list[str]:
    return [
        "ffprobe", "-v", "error", "-show_entries",
        "stream=codec_type,codec_name:format=duration", "-of", "json", path,
    ]  # fmt: skip


def probe_streams(run: ToolRunner, path: str, ffprobe: bool = True) -> dict[str, Any] | None:
    """Streams and duration of a file in the container, in ffprobe's JSON shape, or None.
    Without ffprobe (a profile whose ffmpeg.tools leaves it out) ffmpeg reads them."""
    if not ffprobe:
        return ffmpeg_probe(run(["ffmpeg", "-hide_banner", "-i", path]).stderr)
    result = run(probe_argv(path))
    if not result.ok:
        return None
    try:
        return dict(json.loads(result.stdout))
    except ValueError:
        return None


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio): (\w+)")


def ffmpeg_probe(stderr: str) -> dict[str, Any] | None:
    """What `ffmpeg -i FILE` says of a file (it exits 1: no output given)."""
    duration = _DURATION.search(stderr)
    streams = [
        {"codec_type": kind.lower(), "codec_name": codec} for kind, codec in _STREAM.findall(stderr)
    ]
    if duration is None or not streams:
        return None
    hours, minutes, seconds = duration.groups()
    total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return {"streams": streams, "format": {"duration": str(total)}}


def run_transcode(run: ToolRunner, contract: Profile, tag: str) -> Transcode:
    """Encode a generated clip into the temp dir with ``run`` and probe the result."""
    out = f"{contract.ffmpeg.temp_dir}/conformance-{tag}.mp4"
    result = run(transcode_argv(contract, out))
    probe = probe_streams(run, out, "ffprobe" in contract.ffmpeg.tools) if result.ok else None
    return Transcode(out, result.rc, result.seconds, result.why() if not result.ok else "", probe)


@pytest.fixture(scope="session")
def transcode_result(run_tool: ToolRunner, contract: Profile, ffmpeg_ready: None) -> Transcode:
    return run_transcode(run_tool, contract, "transcode")


# -- SPA -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def index_html(image_fs: ImageFilesystem, contract: Profile) -> str:
    path = f"{contract.fs.frontend_dir}/index.html"
    if image_fs.lookup(path) is None:
        blocked("FS-FRONTEND", f"{path} is missing")
    return str(establish(lambda: image_fs.read_text(path)))
