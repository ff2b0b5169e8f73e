"""The plugin's own behaviour, without Docker: options, precedence, profile errors,
bad input, and how results become reports."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import CHECKS
from conformance.plugin import CHECKS_DIR
from conformance.report import ResultBook, build_report, markdown
from conformance.schema import Policy

Runner = Callable[..., pytest.RunResult]


def _one_line_error(result: pytest.RunResult, *needles: str) -> None:
    """A usage error: exit 4, no traceback, one ERROR line naming what is wrong."""
    text = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, text
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Runner:
    for name in list(os.environ):
        if name.startswith("CONFORMANCE_"):
            monkeypatch.delenv(name)

    def go(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)

    return go


def test_checks_without_an_image_name_the_option(run: Runner) -> None:
    _one_line_error(run(str(CHECKS_DIR)), "--image", "CONFORMANCE_IMAGE")


def test_a_profile_without_an_image_names_the_option(
    run: Runner, pytester: pytest.Pytester
) -> None:
    pytester.makefile(".toml", fork="[image]\nport = 9000\n")
    _one_line_error(run("--conformance-profile=fork.toml"), "--image")


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (None, ["fork.toml", "file not found"]),
        ("[image\nport = 1", ["fork.toml", "not valid TOML"]),
        ("[image]\ncolour = 'red'\n", ["fork.toml", "image.colour", "unknown key"]),
        ("[imagery]\nport = 1\n", ["fork.toml", "[imagery]", "unknown section"]),
        ("[image]\nport = '8000'\n", ["fork.toml", "image.port", "integer"]),
        ("[fs]\nwritable_dirs = '/app/temp'\n", ["fork.toml", "fs.writable_dirs", "list"]),
        ("[waivers]\nIMG-LABELS = ''\n", ["fork.toml", "waivers.IMG-LABELS", "reason"]),
        ("[waivers]\nIMG-COLOUR = 'x'\n", ["fork.toml", "waivers.IMG-COLOUR", "unknown check"]),
        ("[image]\nuser = 'root'\n", ["fork.toml", "image.user = 'root'", "never allows root"]),
        ("[waivers]\nFS-PID1-USER = 'x'\n", ["fork.toml", "FS-PID1-USER", "no profile can waive"]),
        ("[ffmpeg]\nrequired = false\n", ["fork.toml", "[ffmpeg] required = false", "reason"]),
        ("[fs]\nrequired = false\n", ["fork.toml", "unknown key fs.required"]),
        ("[ffmpeg]\ntools = ['ffprobe']\n", ["fork.toml", "ffmpeg.tools must include 'ffmpeg'"]),
        ("[ffmpeg]\nbindings = ['pyav']\n", ["fork.toml", "ffmpeg.bindings", "'pyav'"]),
        ("[image]\nuser = '0:0'\n", ["fork.toml", "image.user = '0'", "never allows root"]),
    ],
)
def test_bad_profiles_are_one_line_errors(
    run: Runner, pytester: pytest.Pytester, content: str | None, needles: list[str]
) -> None:
    if content is not None:
        (pytester.path / "fork.toml").write_text(content)
    _one_line_error(run("--image=any:tag", "--conformance-profile=fork.toml"), *needles)


def test_an_attestation_needs_a_signing_key(run: Runner) -> None:
    result = run("--image=any:tag", "--conformance-attestation=att.json")
    _one_line_error(result, "--conformance-attestation needs a signing key")
    result = run("--image=any:tag", "--conformance-signing-key=k.pem")
    _one_line_error(result, "signs nothing without --conformance-attestation")
    result = run("--image=any:tag", "--conformance-attestation=a", "--conformance-signing-key=k")
    _one_line_error(result, "k")


def test_a_bad_policy_file_is_a_usage_error(run: Runner, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[allow]\nwaivers = ['NOPE']\n")
    _one_line_error(run("--image=any:tag", f"--conformance-policy={policy}"), "matches no check")


def test_unknown_check_id_in_exclude(run: Runner) -> None:
    _one_line_error(run("--image=any:tag", "--conformance-exclude=IMG-NOPE"), "IMG-NOPE")


def test_unreachable_docker_daemon(run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    _one_line_error(run("--image=any:tag"), "cannot reach the Docker daemon", "DOCKER_HOST")


@pytest.mark.parametrize("workers", [["-n", "2"], ["--dist=load", "--tx=2*popen"]])
def test_xdist_is_refused_up_front(
    run: Runner, monkeypatch: pytest.MonkeyPatch, workers: list[str]
) -> None:
    """Workers would each start the containers and write the report with only their
    share of the checks: a suite run under xdist is refused before anything starts."""
    pytest.importorskip("xdist")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # never reached
    _one_line_error(run("--image=any:tag", *workers), "pytest-xdist", "one session")


def test_xdist_without_workers_is_a_normal_run(
    run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    _one_line_error(run("--image=any:tag", "-n", "0"), "cannot reach the Docker daemon")


def test_precedence_option_env_ini_profile_default(
    run: Runner, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        "[pytest]\nconformance_json_report = from-ini.json\n"
        "conformance_markdown_report = md-ini.md\n"
    )
    pytester.makefile(
        ".toml",
        fork=(
            "[suite]\nready_timeout_s = 12.5\njson_report = 'p.json'\nmarkdown_report = 'p.md'\n"
            "[image]\nport = 9000\n"
        ),
    )
    monkeypatch.setenv("CONFORMANCE_JSON_REPORT", "from-env.json")
    monkeypatch.setenv("CONFORMANCE_IMAGE", "from-env:tag")
    result = run("--collect-only", "--image=from-option:tag", "--conformance-profile=fork.toml")
    out = result.stdout.str()
    assert "suite.image = 'from-option:tag' [option]" in out
    assert "suite.json_report = 'from-env.json' [env]" in out
    assert "suite.markdown_report = 'md-ini.md' [ini]" in out
    assert "suite.ready_timeout_s = 12.5 [profile]" in out
    assert "suite.keep_containers = False [default]" in out
    assert "suite.profile = " in out and "fork.toml" in out
    assert "  [image]\n    port = 9000 [profile]\n" in out
    assert "user = 'appuser'" not in out  # a default: counted, listed only with -v
    assert "profile values at the reference defaults (-v lists them)" in out
    assert all(len(line) <= 100 for line in out.splitlines() if line.startswith(" "))
    verbose = run("--collect-only", "-v", "--image=from-option:tag").stdout.str()
    assert "    user = 'appuser' [default]" in verbose


def test_bare_image_option_collects_the_packaged_checks(run: Runner) -> None:
    result = run("--collect-only", "-q", "--image=any:tag")
    out = result.stdout.str()
    assert "test_image.py::test_user_is_not_root" in out
    assert "test_runtime.py::test_graceful_stop" in out


def test_plain_pytest_ignores_the_checks(run: Runner, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_ok():\n    assert True\n")
    result = run()
    result.assert_outcomes(passed=1)


def _report(check_id: str, when: str, outcome: str, longrepr: object = None) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=f"checks/test_x.py::test_{check_id}",
        location=("checks/test_x.py", 1, "test"),
        keywords={},
        outcome=outcome,  # type: ignore[arg-type]
        longrepr=longrepr,  # type: ignore[arg-type]
        when=when,  # type: ignore[arg-type]
        user_properties=[("check_id", check_id), ("measured", "412 MB"), ("threshold", "≤ 500 MB")],
        duration=0.5,
    )


def test_results_become_a_report_with_every_status() -> None:
    book = ResultBook()
    for check_id in ("IMG-SIZE", "IMG-LABELS", "IMG-PORT", "IMG-USER", "SPA-INDEX"):
        book.expect(check_id, f"checks/test_x.py::test_{check_id}")
    book.add("IMG-SIZE", _report("IMG-SIZE", "setup", "passed"))
    book.add("IMG-SIZE", _report("IMG-SIZE", "call", "passed"))
    book.add(
        "IMG-LABELS", _report("IMG-LABELS", "setup", "skipped", ("f", 1, "Skipped: WAIVED: no CI"))
    )
    book.add("IMG-PORT", _report("IMG-PORT", "setup", "passed"))
    book.add("IMG-PORT", _report("IMG-PORT", "call", "failed", "IMG-PORT: measured x; expected y"))
    blocked = ("f", 1, "Skipped: blocked by FS-FRONTEND: no bundle")
    book.add("SPA-INDEX", _report("SPA-INDEX", "call", "skipped", blocked))
    book.exclude("IMG-LAYERS", "excluded by suite.exclude [option]")
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    profile = {"waivers": {"IMG-LABELS": "no CI"}}
    report = build_report(
        book.finish(),
        {"ref": "r:1", "id": "sha256:0", "repo_digests": []},
        profile,
        now,
        now,
        1.0,
        policy=Policy(waivers=frozenset({"IMG-LABELS"})),
    )
    assert "seal" not in report  # the signed attestation, not the report, is the gate's input
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["IMG-SIZE"]["status"] == "passed"
    assert (
        by_id["IMG-SIZE"]["measured"] == "412 MB" and by_id["IMG-SIZE"]["threshold"] == "≤ 500 MB"
    )
    assert by_id["IMG-LABELS"]["status"] == "waived"
    assert by_id["IMG-LABELS"]["message"] == "WAIVED: no CI"
    assert by_id["IMG-PORT"]["status"] == "failed"
    assert by_id["IMG-USER"]["status"] == "error"  # selected, never reported: the run ended early
    assert by_id["SPA-INDEX"]["status"] == "blocked"  # its own status, not a skip
    assert by_id["IMG-LAYERS"]["status"] == "excluded"
    # every catalogue ID is in the report; the ones never collected are excluded, saying so
    assert by_id["IMG-WORKDIR"]["status"] == "excluded"
    assert by_id["IMG-WORKDIR"]["message"] == "excluded: not collected in this run"
    assert report["catalogue"] == list(CHECKS)
    assert report["summary"] == {
        "total": len(CHECKS),
        "passed": 1,
        "failed": 1,
        "error": 1,
        "blocked": 1,
        "waived": 1,
        "excluded": len(CHECKS) - 5,
        "skipped": 0,
    }
    assert report["green"] is False
    reasons = report["verdict"]["reasons"]
    assert "IMG-PORT failed" in reasons and "SPA-INDEX blocked" in reasons
    assert (
        f"{len(CHECKS) - 5} checks excluded without allowance (IMG-HEALTHCHECK, IMG-EXEC-FORM, "
        "IMG-LAYERS, IMG-SECRETS, IMG-WORKDIR, FS-APPUSER, FS-PID1-USER, FS-WRITABLE and "
        f"{len(CHECKS) - 13} more; --allow-exclude ID)"
    ) in reasons
    assert not any(r.startswith("IMG-LABELS") for r in reasons)  # waived and allowed
    assert set(report["checks"][0]) == {
        "id",
        "title",
        "status",
        "measured",
        "threshold",
        "message",
        "duration_s",
    }
    assert report["checks"][0]["title"] == CHECKS[report["checks"][0]["id"]]
    summary = markdown(report)
    assert "NOT green" in summary and "`IMG-PORT`" in summary and len(summary) < 65536
    assert "1 blocked" in summary and "Why not green" in summary
    json.dumps(report)


def test_every_check_id_has_a_check() -> None:
    found = set()
    for module in Path(CHECKS_DIR).glob("test_*.py"):
        found |= {
            line.split('"')[1]
            for line in module.read_text().splitlines()
            if line.strip().startswith("@pytest.mark.check(")
        }
    assert found - set(CHECKS) == set(), "a check carries an ID the contract does not have"
    assert set(CHECKS) - found <= {"SPA-BROWSER"}, "a contract ID has no check"


def _collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::test_" in line]


def test_check_selects_by_id_and_glob(run: Runner) -> None:
    one = _collected(run("--collect-only", "-q", "--image=any:tag", "--check", "IMG-SIZE"))
    assert one == ["conformance/checks/test_image.py::test_size"] or (
        len(one) == 1 and one[0].endswith("test_image.py::test_size")
    )
    fs = _collected(run("--collect-only", "-q", "--image=any:tag", "--check", "fs-*"))
    assert len(fs) == sum(1 for i in CHECKS if i.startswith("FS-"))
    both = _collected(run("--collect-only", "-q", "--image=any:tag", "--check=IMG-SIZE,IMG-PORT"))
    assert len(both) == 2


def test_check_naming_nothing_is_a_one_line_error(run: Runner) -> None:
    _one_line_error(run("--image=any:tag", "--check", "IMG-NOPE*"), "--check IMG-NOPE*")


@pytest.mark.parametrize("expression", ["IMG-SIZE", "IMG_SIZE", "img_size"])
def test_k_selects_a_check_by_its_id(run: Runner, expression: str) -> None:
    selected = _collected(run("--collect-only", "-q", "--image=any:tag", "-k", expression))
    assert len(selected) == 1 and selected[0].endswith("test_image.py::test_size"), selected


def test_seed_marker_selects_the_seeds_nine_tests(run: Runner) -> None:
    from conformance.catalogue import SEED, SEED_IDS

    assert len(SEED) == 9 and set(CHECKS) >= SEED_IDS
    selected = _collected(run("--collect-only", "-q", "--image=any:tag", "-m", "seed"))
    assert len(selected) == len(SEED_IDS), selected


def test_deploy_paths_resolve_against_the_profile_that_sets_them(tmp_path: Path) -> None:
    from conformance.profile import load_profile
    from conformance.settings import Resolved

    fork = tmp_path / "fork" / "conformance.toml"
    fork.parent.mkdir()
    fork.write_text('[deploy]\ncompose_file = "../compose/app.yml"\n')
    profile = load_profile(fork)
    resolved = Resolved(
        profile=profile,
        image="x",
        json_report="",
        markdown_report="",
        exclude=[],
        ready_timeout_s=1.0,
        keep_containers=False,
        attestation="",
        signing_key="",
        rootdir=tmp_path / "root",
    )
    assert resolved.deploy_path("compose_file") == fork.parent / "../compose/app.yml"
    # not set by the fork's profile: the default, relative to pytest's rootdir
    assert resolved.deploy_path("ecs_task_definition") == (
        tmp_path / "root" / "deploy/ecs-task-definition.json"
    )
    empty = tmp_path / "none.toml"
    empty.write_text('[deploy]\necs_task_definition = ""\n')
    assert (
        Resolved(**{**resolved.__dict__, "profile": load_profile(empty)}).deploy_path(
            "ecs_task_definition"
        )
        is None
    )


def test_the_variant_table_names_the_checks_that_use_each_container(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.variants import VARIANTS
    from conformance.verdict import check_id_of

    for name in list(os.environ):
        if name.startswith("CONFORMANCE_"):
            monkeypatch.delenv(name)
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider", "--image=any:tag")
    for variant in VARIANTS:
        users = {check_id_of(i) for i in items if variant.fixture in getattr(i, "fixturenames", ())}
        assert users == set(variant.checks), f"{variant.name}: {sorted(map(str, users))}"


def test_a_switched_off_section_is_one_waiver_of_its_checks(tmp_path: Path) -> None:
    from conformance.catalogue import SWITCHABLE_SECTIONS
    from conformance.profile import load_profile

    fork = tmp_path / "api-only.toml"
    fork.write_text(
        '[ffmpeg]\nrequired = false\nreason = "no media here"\n[runtime]\nhealth_body = true\n'
    )
    profile = load_profile(fork, set(CHECKS))
    assert profile.switched_off == {"ffmpeg": ("no media here", SWITCHABLE_SECTIONS["ffmpeg"])}
    assert {i for i in CHECKS if i.startswith("FF-")} <= set(profile.waivers)
    assert profile.waivers["FF-CODECS"] == "[ffmpeg] required = false: no media here"
    assert profile.runtime.health_body is True  # any JSON value
    bindings = tmp_path / "no-bindings.toml"
    bindings.write_text("[ffmpeg]\nbindings = []\n")
    assert set(load_profile(bindings, set(CHECKS)).waivers) == {"FF-BINDINGS"}


def test_ffmpeg_reads_streams_when_there_is_no_ffprobe() -> None:
    from conformance.fixtures import ffmpeg_probe

    stderr = (
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':\n"
        "  Duration: 00:00:02.02, start: 0.000000, bitrate: 130 kb/s\n"
        "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p\n"
        "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz\n"
        "At least one output file must be specified\n"
    )
    probe = ffmpeg_probe(stderr)
    assert probe is not None
    assert probe["streams"] == [
        {"codec_type": "video", "codec_name": "h264"},
        {"codec_type": "audio", "codec_name": "aac"},
    ]
    assert abs(float(probe["format"]["duration"]) - 2.02) < 1e-9
    assert ffmpeg_probe("x.mp4: Invalid data found when processing input") is None


def test_the_sweep_tells_a_live_session_from_a_reused_pid() -> None:
    """Containers are swept when their session's process is gone; a pid alive again
    under a later process (pids are reused) is not the session."""
    import socket
    import subprocess

    from conformance.container import (
        LABEL_HOST,
        LABEL_PID,
        LABEL_PID_START,
        process_start,
        session_alive,
    )

    me = os.getpid()
    labels = {LABEL_HOST: socket.gethostname(), LABEL_PID: str(me)}
    started = process_start(me)
    assert started is not None and started.isdigit()
    assert session_alive({**labels, LABEL_PID_START: started})
    assert not session_alive({**labels, LABEL_PID_START: str(int(started) + 1)})
    assert session_alive(labels)  # labelled without /proc: the pid is all there is
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert not session_alive({**labels, LABEL_PID: str(dead.pid)})
    assert not session_alive({**labels, LABEL_PID: "0"})


def test_a_lost_connection_is_told_from_an_answer_of_the_daemon() -> None:
    import docker.errors
    import requests

    from conformance.daemon import connection_error

    refused = requests.exceptions.ConnectionError("Connection refused")
    assert connection_error(refused) is refused
    assert connection_error(docker.errors.NotFound("no such container")) is None
    assert connection_error(AssertionError("the check's own failure")) is None
    try:  # a check that turned the lost connection into its own error
        try:
            raise refused
        except OSError:
            raise RuntimeError("could not read the container") from None
    except RuntimeError as wrapped:
        assert connection_error(wrapped) is refused


def test_exec_frames_are_read_whole_whatever_the_reads_return() -> None:
    """Docker's multiplexed exec stream, read through the response's buffer: payloads
    split across reads, both streams, a stream the probes do not read, a cut-off end."""
    import io

    from conformance.docker_exec import read_frames

    def frame(stream: int, payload: bytes) -> bytes:
        return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload

    class Trickle(io.RawIOBase):  # at most 3 bytes per read, as a slow socket may give
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk, self.data = self.data[:3], self.data[3:]
            buffer[: len(chunk)] = chunk
            return len(chunk)

    body = frame(1, b"V..... libx264\n") + frame(2, b"warning\n") + frame(3, b"x")
    body += frame(1, b"A..... aac\n")
    assert read_frames(io.BufferedReader(Trickle(body))) == (
        b"V..... libx264\nA..... aac\n",
        b"warning\n",
    )
    assert read_frames(io.BytesIO(b"")) == (None, None)
    cut = frame(1, b"complete\n") + frame(1, b"never finished")[:-3]
    assert read_frames(io.BytesIO(cut)) == (b"complete\nnever finis", None)


def test_the_sweep_counts_a_removal_another_session_has_in_progress() -> None:
    """Dead sessions' containers: one removed here, one whose removal another session's
    sweep has in progress (409: counted, it is going), one that sweep removed first and
    one the engine refused (neither counted)."""
    import socket
    from types import SimpleNamespace

    import docker

    from conformance.container import LABEL_HOST, LABEL_PID, LABEL_SESSION, sweep_stale

    def refusal(status: int) -> docker.errors.APIError:
        return docker.errors.APIError("refused", response=SimpleNamespace(status_code=status))

    outcomes: dict[str, Exception | None] = {
        "a" * 64: None,
        "b" * 64: refusal(409),
        "c" * 64: docker.errors.NotFound("no such container"),
        "d" * 64: refusal(500),
    }
    dead = {LABEL_SESSION: "s", LABEL_HOST: socket.gethostname(), LABEL_PID: "0"}

    class Api:
        def containers(self, **_: Any) -> list[dict[str, Any]]:
            return [{"Id": cid, "Labels": dead} for cid in outcomes]

        def remove_container(self, cid: str, **_: Any) -> None:
            if (error := outcomes[cid]) is not None:
                raise error

        def networks(self, **_: Any) -> list[dict[str, Any]]:
            return []

    assert sweep_stale(SimpleNamespace(api=Api())) == ["a" * 12, "b" * 12]


def test_the_sweep_removes_a_dead_sessions_stack_network_and_keeps_a_live_ones() -> None:
    import socket
    from types import SimpleNamespace

    import docker

    from conformance.container import LABEL_HOST, LABEL_PID, LABEL_SESSION, sweep_stale

    host = socket.gethostname()
    networks = {
        "dead": {LABEL_SESSION: "s", LABEL_HOST: host, LABEL_PID: "0"},
        "live": {LABEL_SESSION: "t", LABEL_HOST: host, LABEL_PID: str(os.getpid())},
        "elsewhere": {LABEL_SESSION: "u", LABEL_HOST: "another-host", LABEL_PID: "0"},
        "in-use": {LABEL_SESSION: "v", LABEL_HOST: host, LABEL_PID: "0"},
    }
    removed: list[str] = []

    class Api:
        def containers(self, **_: Any) -> list[dict[str, Any]]:
            return []

        def networks(self, **_: Any) -> list[dict[str, Any]]:
            return [{"Id": name, "Labels": labels} for name, labels in networks.items()]

        def remove_network(self, name: str) -> None:
            if name == "in-use":  # a container of it not yet gone: left for a later sweep
                raise docker.errors.APIError("has active endpoints")
            removed.append(name)

    sweep_stale(SimpleNamespace(api=Api()))
    assert removed == ["dead"]
