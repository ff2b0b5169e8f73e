"""The rules of checks that once passed without their fact, on their own, without
Docker: each is fed the vacuous case it used to accept (a null component, a label left
at "unknown", a health probe of another path) and must refuse it. The mutant images
under mutants/<ID>--<what>/ prove the same on a real container."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.test_image import OCI, label_problem
from conformance.checks.test_runtime import detailed_problems
from conformance.job_api import clip_length_ok
from conformance.probes import FactError
from conformance.probes.requested import requested_paths
from conformance.profile import load_profile
from conformance.variants import VARIANTS, specs

COMPONENTS = ["ffmpeg", "ffprobe", "temp_dir", "upload_dir", "disk_space", "integrations"]
# The reference service's /health/detailed, shortened (docs/service.md).
DETAILED: dict[str, Any] = {
    "status": "healthy",
    "components": {
        name: {"ok": True} for name in ("ffmpeg", "ffprobe", "temp_dir", "upload_dir", "disk_space")
    },
    "integrations": {"replicate": False, "database": False, "redis": False, "s3": False},
}


def test_the_reference_detailed_body_reports_every_component() -> None:
    assert detailed_problems(DETAILED, COMPONENTS) == []
    degraded = {**DETAILED, "status": "degraded"}
    degraded["components"] = {**DETAILED["components"], "temp_dir": {"ok": False}}
    assert detailed_problems(degraded, COMPONENTS) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"components": {**DETAILED["components"], "ffmpeg": None}}, "components.ffmpeg is null"),
        ({"components": {**DETAILED["components"], "ffmpeg": {}}}, "components.ffmpeg is {}"),
        ({"components": {**DETAILED["components"], "ffmpeg": {"ok": "yes"}}}, "components.ffmpeg"),
        ({"ffmpeg": None, "components": {}}, "ffmpeg is null"),
        ({"integrations": None}, "integrations is null"),
        ({"integrations": {}}, "integrations is {}"),
        ({"integrations": {"s3": "configured"}}, "integrations is"),
        ({"status": "ok"}, 'status "ok" is not one of healthy, degraded'),
        (
            {"components": {**DETAILED["components"], "disk_space": {"ok": False}}},
            "status healthy while disk_space not ok",
        ),
    ],
)
def test_a_component_without_a_state_is_not_reported(change: dict[str, Any], problem: str) -> None:
    """`{"ffmpeg": null}` names the component but says nothing about it."""
    problems = detailed_problems({**DETAILED, **change}, COMPONENTS)
    assert any(problem in p for p in problems), problems


def test_a_detailed_body_that_is_not_an_object_is_refused() -> None:
    assert detailed_problems(["ffmpeg"], COMPONENTS) == [
        'the body is ["ffmpeg"], not a JSON object'
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("revision", "4ea2f1c00d6a0862a0d410acc6c931f4e5e9d965"),
        ("revision", "4ea2f1c"),
        ("revision", "4ea2f1c00d6a0862a0d410acc6c931f4e5e9d965-dirty"),
        ("revision", "a" * 64),
        ("created", "2026-11-26T16:30:27+00:00"),
        ("created", "2026-01-01T00:00:00.5Z"),
        ("version", "1.4.2"),
        ("version", "v1.4.2-3-g4ea2f1c"),
        ("version", "0.0.0-test"),
        ("source", "https://github.com/ai-video/ai-video-backend-conformance"),
    ],
)
def test_real_label_values_pass(name: str, value: str) -> None:
    assert label_problem(OCI + name, value) is None


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("revision", "unknown", "placeholder"),  # the reference Dockerfile's own default
        ("created", "unknown", "placeholder"),
        ("version", "0.0.0-dev", "placeholder"),
        ("version", "latest", "placeholder"),
        ("version", "${VERSION}", "placeholder"),
        ("revision", "", "empty"),
        ("revision", None, "missing"),
        ("revision", "main", "not a commit ID"),
        ("revision", "4ea2f1", "not a commit ID"),  # 6 digits
        ("created", "2026-11-26", "not an RFC 3339 time"),
        ("created", "2026-13-01T00:00:00Z", "not an RFC 3339 time"),
        ("created", "yesterday", "not an RFC 3339 time"),
        ("source", "ai-video-backend", "not a URL"),
    ],
)
def test_placeholder_label_values_fail(name: str, value: str | None, problem: str) -> None:
    assert problem in str(label_problem(OCI + name, value))


class LocalContainer:
    """exec_run runs the command on this machine (the stand-in server is plain Python)."""

    def exec_run(self, argv: list[str], user: str = "", demux: bool = False) -> Any:
        done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, timeout=60)
        return type(
            "ExecResult", (), {"exit_code": done.returncode, "output": (done.stdout, done.stderr)}
        )()


def _probe(code: str, port: int) -> list[str]:
    return [sys.executable, "-c", code, str(port)]


GET = (
    "import sys, urllib.request as u; "
    "u.urlopen(f'http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}', timeout=3)"
)


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("path", ["/health", "/health/detailed", "/healthz?verbose=1"])
def test_the_path_a_health_probe_requests_is_seen_not_guessed(path: str, free_port: int) -> None:
    asked = requested_paths(
        LocalContainer(), "python", [*_probe(GET, free_port), path], free_port, "{}", {}
    )
    assert asked.paths == (path.split("?")[0],) and asked.rc == 0


def test_a_probe_that_requests_nothing_is_seen_to_request_nothing(free_port: int) -> None:
    asked = requested_paths(LocalContainer(), "python", ["true"], free_port, "{}", {})
    assert asked.paths == () and asked.rc == 0


def test_a_probe_that_cannot_run_is_an_error(free_port: int) -> None:
    with pytest.raises(FactError, match="no-such-probe cannot run"):
        requested_paths(LocalContainer(), "python", ["no-such-probe"], free_port, "{}", {})


def test_a_port_already_taken_is_an_error(free_port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6) as taken:
        taken.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        taken.bind(("::", free_port))
        taken.listen()
        with pytest.raises(FactError, match=f"cannot listen on port {free_port}"):
            requested_paths(LocalContainer(), "python", ["true"], free_port, "{}", {})


def test_a_variant_started_for_one_rule_serves_that_rule_only() -> None:
    """One fault in such a container fails one ID (SPA-DISABLED and LOG-LEVEL once
    shared the static-off container)."""
    shared = {v.name: v.checks for v in VARIANTS if v.after_app and len(v.checks) != 1}
    assert not shared
    spec = specs(load_profile(None), None)
    assert spec["quiet_log"].environment["LOG_LEVEL"] == "WARNING"
    assert spec["static_off"].environment["LOG_LEVEL"] == "INFO"  # the app's, but static off


def test_the_duration_tolerance_is_the_profiles(tmp_path: Path) -> None:
    """Both FF-TRANSCODE runs and DEP-COMPOSE-FULL compare through clip_length_ok: no
    ±0.5 of their own."""
    assert clip_length_ok(2.3, load_profile(None).ffmpeg)  # the default, 0.5 s
    strict = tmp_path / "strict.toml"
    strict.write_text("[ffmpeg]\nduration_tolerance_s = 0.1\n")
    ff = load_profile(strict).ffmpeg
    assert not clip_length_ok(2.3, ff) and clip_length_ok(2.05, ff)
    checks = Path(__file__).parents[1] / "checks"
    assert (checks / "test_ffmpeg.py").read_text().count("clip_length_ok(duration, ff)") == 2
    assert "clip_length_ok(duration, contract.ffmpeg)" in (checks / "test_deploy.py").read_text()
