"""The plugin against a real image and daemon: reports, bad input, and that no
container outlives a session, however it ends."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import docker
import pytest

from conformance.attestation import embedded_report, keygen, load_public_key, subject_digests
from conformance.attestation import verify as verify_envelope
from conformance.catalogue import CHECKS
from conformance.container import (
    LABEL_HOST,
    LABEL_PID,
    LABEL_PID_START,
    LABEL_SESSION,
    Lab,
    RunSpec,
    process_start,
    session_alive,
    sweep_stale,
)
from conformance.tests import stress
from conformance.tests.suite_run import (
    BASE_IMAGE,
    REPO,
    clean_env,
    leftovers,
    run_suite,
    suite_command,
)

pytestmark = pytest.mark.docker

NOT_IMAGE = ",".join(sorted(i for i in CHECKS if not i.startswith("IMG-")))


@pytest.mark.parametrize(
    ("image", "hint"),
    [
        ("ai-video-conformance-absent:nope", "build it (docker build -t "
         "ai-video-conformance-absent:nope ...) or pull it (docker pull "
         "ai-video-conformance-absent:nope)"),
        # the build script is named for the reference image only
        ("ai-video-backend:absent-tag", "build it (scripts/build-backend.sh absent-tag) or "
         "pull it (docker pull ai-video-backend:absent-tag)"),
    ],
)  # fmt: skip
def test_missing_image_is_one_line(tmp_path: Path, image: str, hint: str) -> None:
    run = run_suite(image, tmp_path / "r.json")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in run.output
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    assert errors == [f"ERROR: image {image} not found locally: {hint}"]
    assert leftovers(run.pid) == []


def test_reports_carry_ids_waivers_and_sources(tmp_path: Path) -> None:
    profile = tmp_path / "fork.toml"
    profile.write_text('[waivers]\n"IMG-LABELS" = "labels are added by the release pipeline"\n')
    junit = tmp_path / "junit.xml"
    summary = tmp_path / "summary.md"
    private, public = keygen(tmp_path / "keys")
    envelope = tmp_path / "attestation.json"
    run = run_suite(
        BASE_IMAGE,
        tmp_path / "report.json",
        f"--conformance-profile={profile}",
        f"--conformance-exclude={NOT_IMAGE}",
        f"--junitxml={junit}",
        f"--conformance-markdown={summary}",
        f"--conformance-attestation={envelope}",
        f"--conformance-signing-key={private}",
        "-rs",
    )
    report = run.report
    assert report is not None, run.output
    # Excluded checks are not green: the run says why and exits non-zero although none failed.
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.output
    assert (
        f"conformance verdict: NOT green: {len(NOT_IMAGE.split(','))} checks excluded without "
        "allowance (FS-APPUSER," in run.output
    )
    assert report["green"] is False
    statement = verify_envelope(envelope.read_bytes(), load_public_key(public))
    assert subject_digests(statement) == {report["image"]["id"]}
    assert embedded_report(statement) == report
    assert statement["predicate"]["result"] == "FAILED"
    assert report["schema_version"] == 2
    assert report["catalogue"] == list(CHECKS)
    assert report["tool"]["name"] == "ai-video-conformance"
    assert report["image"]["ref"] == BASE_IMAGE
    assert report["image"]["id"].startswith("sha256:")
    assert report["profile"]["path"] == str(profile)
    assert report["profile"]["waivers"] == {
        "IMG-LABELS": "labels are added by the release pipeline"
    }
    values = report["profile"]["values"]
    assert values["suite.image"] == {"value": BASE_IMAGE, "source": "option"}
    assert values["image.max_size_mb"] == {"value": 500.0, "source": "default"}
    by_id = {c["id"]: c for c in report["checks"]}
    assert set(by_id) == set(CHECKS)
    assert by_id["IMG-LABELS"]["status"] == "waived"
    assert "1 waived" in run.output  # pytest's own output shows it as waived, not passed
    assert by_id["IMG-SIZE"]["measured"].endswith("MB")
    assert by_id["IMG-SIZE"]["threshold"] == "≤ 500 MB"
    assert by_id["RUN-READY"]["status"] == "excluded"
    assert "excluded by suite.exclude" in by_id["RUN-READY"]["message"]
    assert report["deviations"] == []
    assert report["duration_s"] > 0
    cases = ET.parse(junit).getroot().iter("testcase")
    ids = {
        p.get("value")
        for case in cases
        for p in case.iter("property")
        if p.get("name") == "check_id"
    }
    assert {i for i in CHECKS if i.startswith("IMG-")} <= ids
    assert "IMG-LABELS" in summary.read_text()
    json.dumps(report)


def test_containers_come_from_testcontainers_without_a_reaper(tmp_path: Path) -> None:
    """Ryuk stays off even when the environment asks for it (its image can't be pulled
    here, and the session removes its own containers)."""
    only_health_body = ",".join(sorted(set(CHECKS) - {"RUN-HEALTH-BODY"}))
    policy = tmp_path / "policy.toml"
    policy.write_text('[allow]\nexcludes = ["*"]\n')  # a run that is green with exclusions
    run = run_suite(
        BASE_IMAGE,
        tmp_path / "r.json",
        f"--conformance-exclude={only_health_body}",
        f"--conformance-policy={policy}",
        "--conformance-keep",
        env={"TESTCONTAINERS_RYUK_DISABLED": "false"},
    )
    client = docker.from_env()
    kept = client.api.containers(all=True, filters={"label": f"{LABEL_PID}={run.pid}"})
    try:
        assert run.returncode == 0, run.output
        assert kept, "--conformance-keep kept no container"
        for info in kept:
            assert info["Labels"].get("org.testcontainers") == "true"
            assert info["Labels"].get(LABEL_SESSION)
            assert all(p.get("IP") == "127.0.0.1" for p in info["Ports"] if p.get("PublicPort"))
        reapers = client.api.containers(all=True, filters={"label": "org.testcontainers.ryuk"})
        reapers += [c for c in client.api.containers(all=True) if "ryuk" in c["Image"]]
        assert reapers == []
    finally:
        for info in kept:
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_container(info["Id"], force=True)


def test_readiness_timeout_shows_the_containers_last_log_lines(tmp_path: Path) -> None:
    """The app listens on another port than the one the suite polls: it never
    answers, and the failure shows what the app itself said."""
    profile = tmp_path / "wrong-port.toml"
    profile.write_text('[runtime]\nenv = { PORT = "9999" }\n')
    only_ready = ",".join(sorted(set(CHECKS) - {"RUN-READY"}))
    started = time.monotonic()
    run = run_suite(
        BASE_IMAGE,
        tmp_path / "r.json",
        f"--conformance-profile={profile}",
        "--conformance-ready-timeout=4",
        f"--conformance-exclude={only_ready}",
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 1, run.output
    assert run.report is not None, run.output
    ready = run.check("RUN-READY")
    assert ready["status"] == "failed"
    assert "no 200 from /health within 4 s" in ready["measured"]
    assert "last log lines" in ready["measured"]
    assert "Uvicorn running on http://0.0.0.0:9999" in ready["measured"]
    assert elapsed < 30, "the suite waited longer than its readiness deadline"
    assert leftovers(run.pid) == []


def _wait_for_containers(pid: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not leftovers(pid):
        time.sleep(0.2)
    assert leftovers(pid), "the suite never started a container"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_session_leaves_no_container(tmp_path: Path, sig: signal.Signals) -> None:
    cmd = suite_command(BASE_IMAGE, tmp_path / "report.json", "--conformance-exclude=SPA-BROWSER")
    with subprocess.Popen(
        cmd,
        cwd=REPO,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # An xdist worker may run with SIGINT ignored, and a child inherits that: give
        # the suite the default disposition, as in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as child:
        _wait_for_containers(child.pid)
        time.sleep(2)  # mid-session: containers starting and checks running
        child.send_signal(sig)
        output, _ = child.communicate(timeout=120)
    assert leftovers(child.pid) == []
    report = json.loads((tmp_path / "report.json").read_text())
    # an interrupted run never counts as a pass
    assert report["green"] is False, (report["summary"], output.decode()[-2000:])


def test_stale_containers_of_dead_sessions_are_swept(tmp_path: Path) -> None:
    client = docker.from_env()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = client.containers.create(
        BASE_IMAGE,
        command=["true"],
        labels={LABEL_SESSION: "stale", LABEL_HOST: socket.gethostname(), LABEL_PID: str(dead.pid)},
    )
    try:
        run_suite(BASE_IMAGE, tmp_path / "r.json", f"--conformance-exclude={NOT_IMAGE}")
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(stale.id)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            stale.remove(force=True)


def test_from_an_empty_directory_each_deploy_check_fails_in_one_line(tmp_path: Path) -> None:
    """No deploy files where pytest runs: DEP-* fail naming the profile key, no ERROR."""
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    run = run_suite(BASE_IMAGE, tmp_path / "r.json", "--check=DEP-*", "-rfE", cwd=empty)
    assert run.report is not None, run.output[-3000:]
    assert " error" not in run.output and "ERROR" not in run.output, run.output[-3000:]
    for check_id, key in (("DEP-ECS", "ecs_task_definition"), ("DEP-COMPOSE", "compose_file")):
        result = run.check(check_id)
        assert result["status"] == "failed", result
        assert f"not found (profile deploy.{key})" in result["message"].splitlines()[0]
        assert str(empty) in result["message"]
    assert run.report["selection"]["complete"] is False
    assert leftovers(run.pid) == []


def test_check_runs_one_check_and_its_report_is_a_selection(tmp_path: Path) -> None:
    run = run_suite(BASE_IMAGE, tmp_path / "r.json", "--check", "IMG-SIZE")
    assert run.report is not None, run.output[-3000:]
    ran = [c["id"] for c in run.report["checks"] if c["status"] == "passed"]
    assert ran == ["IMG-SIZE"]
    assert run.report["green"] is False
    left_out = run.report["selection"]["left_out"]
    assert len(left_out) == len(CHECKS) - 1 and set(left_out.values()) == {"--check IMG-SIZE"}
    assert "a selection (1 of" in run.output


def test_an_app_on_another_port_is_named_in_ready(tmp_path: Path) -> None:
    """RUN-READY says what it saw and where the app listens, not "start faster"."""
    profile = tmp_path / "other-port.toml"
    profile.write_text('[suite]\nready_timeout_s = 4.0\n[runtime]\nenv = { PORT = "9000" }\n')
    run = run_suite(
        BASE_IMAGE, tmp_path / "r.json", f"--conformance-profile={profile}", "--check=RUN-READY"
    )
    assert run.report is not None, run.output[-3000:]
    result = run.check("RUN-READY")
    assert result["status"] == "failed", result
    message = result["message"]
    assert "127.0.0.1:" in message and "(container port 8000)" in message, message
    assert "listens on TCP port(s) 9000, the profile says 8000" in message, message
    assert "fix: serve on port 8000" in message, message
    assert leftovers(run.pid) == []


def _image_with(client: docker.DockerClient, tag: str, *lines: str) -> str:
    dockerfile = "\n".join([f"FROM {BASE_IMAGE}", *lines]).encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True, forcerm=True)
    return tag


def test_a_long_declared_health_interval_does_not_hold_the_suite(tmp_path: Path) -> None:
    """An image declaring a 5-minute interval: the wait ends at the contract's bound."""
    client = docker.from_env()
    image = _image_with(
        client,
        "ai-video-mutant:slow-health-interval",
        "HEALTHCHECK --interval=300s --timeout=10s --start-period=5s --retries=3 "
        'CMD ["python", "-m", "app.healthcheck"]',
    )
    started = time.monotonic()
    run = run_suite(image, tmp_path / "r.json", "--check=RUN-DOCKER-HEALTHY,IMG-HEALTHCHECK")
    wall = time.monotonic() - started
    assert run.report is not None, run.output[-3000:]
    bound = 5 + 30 + 10  # the reference profile's maximum start period + interval + timeout
    assert wall <= bound + 15, f"the suite took {wall:.0f} s"
    result = run.check("RUN-DOCKER-HEALTHY")
    assert result["status"] == "failed", result
    assert "the image declares 315 s, the contract allows at most 45 s" in result["message"]
    assert run.check("IMG-HEALTHCHECK")["status"] == "failed"


def test_a_missing_user_or_directory_never_passes(tmp_path: Path) -> None:
    """A build tool in the image and an app user the image does not have: FS-NO-BUILD-TOOLS
    still finds the tool (it needs no user), the checks that need the user are not
    passed, and directories that do not exist fail FS-READONLY-CODE."""
    from conformance.tests.suite_run import build_mutant

    image = build_mutant("FS-NO-BUILD-TOOLS")  # the reference image plus make
    profile = tmp_path / "ghost.toml"
    profile.write_text(
        '[image]\nuser = "ghost"\n[fs]\nreadonly_dirs = ["/app/app", "/opt/no-such-venv"]\n'
    )
    run = run_suite(
        image,
        tmp_path / "r.json",
        f"--conformance-profile={profile}",
        "--check=FS-NO-BUILD-TOOLS,FS-APPUSER,FS-WRITABLE,FS-READONLY-CODE,FS-PYTHON",
    )
    assert run.report is not None, run.output[-3000:]
    status = {c["id"]: c["status"] for c in run.report["checks"]}
    assert status["FS-NO-BUILD-TOOLS"] == "failed"
    assert "/usr/bin/make" in run.check("FS-NO-BUILD-TOOLS")["measured"]
    assert status["FS-APPUSER"] == "failed"
    for dependent in ("FS-WRITABLE", "FS-READONLY-CODE", "FS-PYTHON"):
        assert status[dependent] not in ("passed",), (dependent, run.check(dependent))
    assert "blocked by FS-APPUSER" in run.check("FS-WRITABLE")["message"]
    assert "does not exist in the image" in run.check("FS-PYTHON")["message"]

    missing = tmp_path / "missing-dirs.toml"
    missing.write_text('[fs]\nreadonly_dirs = ["/opt/no-such-venv"]\n')
    run = run_suite(
        BASE_IMAGE,
        tmp_path / "r2.json",
        f"--conformance-profile={missing}",
        "--check=FS-READONLY-CODE",
    )
    assert run.report is not None, run.output[-3000:]
    result = run.check("FS-READONLY-CODE")
    assert (
        result["status"] == "failed" and "/opt/no-such-venv not in the image" in result["measured"]
    )


COMPOSE = """\
services:
  backend:
    image: ${IMAGE:-ai-video-backend:latest}
    ports: ["127.0.0.1:${HOST_PORT:?HOST_PORT comes from .env}:8000"]
    environment:
      APP_ENV: ${APP_ENV:?set APP_ENV}
      API_KEYS: ${API_KEYS:-}
    healthcheck:
      test: ["CMD", "python", "-m", "app.healthcheck"]
"""


def test_compose_files_are_read_the_way_compose_reads_them(tmp_path: Path) -> None:
    """Interpolation with ${V:?}, the project's .env and override files, by compose."""
    (tmp_path / "compose.yml").write_text(COMPOSE)
    (tmp_path / ".env").write_text("HOST_PORT=18000\n")
    (tmp_path / "no-health.yml").write_text(
        "services:\n  backend:\n    healthcheck:\n      disable: true\n"
    )

    def dep_compose(profile_text: str) -> dict[str, str]:
        profile = tmp_path / "fork.toml"
        profile.write_text('[deploy]\ncompose_file = "compose.yml"\n' + profile_text)
        run = run_suite(
            BASE_IMAGE, tmp_path / "r.json", f"--conformance-profile={profile}",
            "--check=DEP-COMPOSE",
        )  # fmt: skip
        assert run.report is not None, run.output[-3000:]
        return run.check("DEP-COMPOSE")

    unset = dep_compose("")
    assert unset["status"] == "failed" and "set APP_ENV" in unset["message"], unset
    # Production serves only with API keys, which the file takes from the environment.
    production = 'compose_env = { APP_ENV = "production", API_KEYS = "' + "k" * 32 + '" }\n'
    given = dep_compose(production)
    assert given["status"] == "passed", given  # HOST_PORT came from .env
    overridden = dep_compose(production + 'compose_overrides = ["no-health.yml"]\n')
    assert overridden["status"] == "failed", overridden
    assert "the service has no healthcheck" in overridden["measured"], overridden


# The checks an image with nothing in it may pass: those whose fact is its configuration,
# and those whose fact is an absence that its (successfully read, empty) filesystem
# really has: no build tools, no caches, no setuid files.
CONFIG_ONLY = {
    "IMG-HEALTHCHECK", "IMG-PORT", "IMG-EXEC-FORM", "IMG-SIZE", "IMG-LAYERS", "IMG-SECRETS",
    "IMG-LABELS", "IMG-WORKDIR", "FS-NO-BUILD-TOOLS", "FS-NO-CACHES", "FS-SETUID",
}  # fmt: skip


def test_no_check_passes_without_its_fact(tmp_path: Path) -> None:
    """An image that declares the contract's configuration but holds no files at all:
    no passwd, no shell, no Python, no FFmpeg, no server. Every gatherer fails (the
    export lacks its files, no program runs, no container stays up, nothing answers);
    no check other than the configuration-only ones may pass, and none crashes."""
    from conformance.tests.registry import import_image

    client = docker.from_env()
    image = import_image(
        client,
        "ai-video-mutant:nothing-inside",
        {"app/.keep": b""},
        [
            "USER appuser:appuser",
            "WORKDIR /app",
            "EXPOSE 8000/tcp",
            "HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 "
            'CMD ["python", "-m", "app.healthcheck"]',
            'CMD ["python", "-m", "app"]',
            "LABEL org.opencontainers.image.source=https://example.org/x"
            " org.opencontainers.image.revision=0123456789abcdef0123456789abcdef01234567"
            " org.opencontainers.image.version=1.0.0"
            " org.opencontainers.image.created=2026-01-01T00:00:00Z",
        ],
    )
    profile = tmp_path / "short-waits.toml"
    profile.write_text("[suite]\nready_timeout_s = 5.0\n[runtime]\nbad_config_timeout_s = 5.0\n")
    try:
        run = run_suite(image.ref, tmp_path / "r.json", f"--conformance-profile={profile}")
    finally:
        client.images.remove(image.id, force=True)
    assert run.report is not None, run.output[-3000:]
    assert "Traceback" not in run.output, run.output[-3000:]
    for check in run.report["checks"]:  # every message one clear reason, no raw traceback
        assert "def " not in (check["message"] or ""), check
    passed = {c["id"] for c in run.report["checks"] if c["status"] == "passed"}
    assert passed <= CONFIG_ONLY, sorted(passed - CONFIG_ONLY)
    assert run.report["green"] is False and run.returncode != 0
    assert leftovers(run.pid) == []


def test_a_live_session_is_never_swept_and_a_reused_pid_is_not_live() -> None:
    """The sweep decides by pid, host and the pid's start time: a session whose process
    runs (this one) keeps its containers while another session sweeps; a container
    whose pid now belongs to a later process (pids are reused) is a dead session's."""
    client = docker.from_env()
    me = os.getpid()
    labels = {LABEL_SESSION: "sweep-test", LABEL_HOST: socket.gethostname(), LABEL_PID: str(me)}
    live = client.containers.create(
        BASE_IMAGE, command=["true"], labels={**labels, LABEL_PID_START: str(process_start(me))}
    )
    reused = client.containers.create(
        BASE_IMAGE, command=["true"], labels={**labels, LABEL_PID_START: "1"}
    )
    try:
        assert session_alive(live.labels) and not session_alive(reused.labels)
        # Parallel sessions sweep too: any of them may be the one that removes it.
        sweep_stale(client)
        client.containers.get(live.id)  # still there
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.containers.get(reused.id)
            except docker.errors.NotFound:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the reused pid's container {reused.id[:12]} outlived the sweep")
    finally:
        for container in (live, reused):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


@pytest.mark.parametrize("after_s", [0.02, 0.05, 0.08])
def test_a_session_closed_while_starting_leaves_nothing_for_the_sweep(after_s: float) -> None:
    """An interrupted session closes while its containers are being created, then exits
    at once (its start threads die with it): closing waits for those starts, so no
    container is left for the next run to sweep. (Closing without that wait left the
    containers whose creation was in flight, ~50 ms after the start here.)"""
    code = textwrap.dedent(
        f"""
        import time
        import docker
        from conformance.container import Lab, RunSpec
        lab = Lab(docker.from_env(), {BASE_IMAGE!r}, 8000, "/health", 30)
        for name in ("app", "idle", "other"):
            lab.start(RunSpec(name, publish=name == "app", wait="running"))
        time.sleep({after_s})
        lab.close()
        """
    )
    with subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=clean_env()) as child:
        assert child.wait(timeout=120) == 0
    assert leftovers(child.pid) == []


LATE_SIGNAL = """
import os, signal
from conformance.container import Lab

_close = Lab.close


def close(self, *args, **kwargs):
    if not getattr(self, "signalled", False):
        self.signalled = True
        os.kill(os.getpid(), signal.SIGNAL)  # as if it came while the session cleans up
    return _close(self, *args, **kwargs)


Lab.close = close
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_session_cleans_up_lets_it_finish(tmp_path: Path, sig: str) -> None:
    """Ctrl-C (or SIGTERM) while the containers are being removed: the clean-up and the
    report are finished first, the run exits 2, no traceback. (It cut both short: a
    KeyboardInterrupt traceback and no report.)"""
    (tmp_path / "late_signal.py").write_text(LATE_SIGNAL.replace("SIGNAL", sig))
    run = run_suite(
        BASE_IMAGE,
        tmp_path / "r.json",
        "-p",
        "late_signal",
        "--check=RUN-READY",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.output[-3000:]
    assert "Traceback" not in run.output, run.output[-3000:]
    assert "interrupted while cleaning up" in run.output
    assert run.report is not None and run.check("RUN-READY")["status"] == "passed"
    assert leftovers(run.pid) == []


def test_anonymous_volumes_go_with_the_containers() -> None:
    """An image declaring VOLUME: closing the session and sweeping a dead one remove
    the volumes Docker made for it (they carry no label a later sweep could find)."""
    client = docker.from_env()
    image = _image_with(client, "ai-video-mutant:anonymous-volume", "VOLUME /data")

    def volumes_of(container_id: str) -> list[str]:
        mounts = client.api.inspect_container(container_id)["Mounts"]
        return [m["Name"] for m in mounts if m["Type"] == "volume"]

    lab = Lab(client, image, 8000, "/health", 30)
    started = lab.get(RunSpec("idle", publish=False, wait="running"))
    volumes = volumes_of(started.container.id)
    lab.close()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = client.containers.create(
        image,
        command=["true"],
        labels={LABEL_SESSION: "stale", LABEL_HOST: socket.gethostname(), LABEL_PID: str(dead.pid)},
    )
    volumes += volumes_of(stale.id)
    sweep_stale(client)
    assert len(volumes) == 2
    for name in volumes:
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(name)


def test_a_daemon_lost_mid_run_ends_it_in_one_line_and_the_next_run_is_clean(
    tmp_path: Path,
) -> None:
    """The suite reaches the daemon through a socket proxy that dies once the containers
    run: for the client that is the daemon stopping. The run stops with one line naming
    the daemon, no traceback, a report that is not green; the next run sweeps."""
    fault = stress.daemon_fault(
        BASE_IMAGE, tmp_path, delay_s=1.0, after_containers=True, progress=lambda _: None
    )
    run = fault.run
    assert fault.had_containers, run.tail()
    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.tail()
    assert run.tracebacks == 0, run.tail()
    assert run.lines_with("Interrupted: the Docker daemon went away mid-run"), run.tail()
    assert run.report is not None and run.report["green"] is False, run.tail()
    for check in run.report["checks"]:
        assert "Traceback" not in (check["message"] or ""), check
    assert fault.after_sweep.total == 0, (fault.before_sweep, fault.after_sweep)
