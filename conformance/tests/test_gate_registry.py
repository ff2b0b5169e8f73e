"""The release gate against a real registry: green pushes, everything else is refused.

Each refusal must exit 1 with one line naming the reason, and the registry's
catalog must show that nothing reached it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from conformance.tests.registry import (
    REPORT_KEY,
    GateImage,
    LocalRegistry,
    docker_client,
    docker_push,
    gate_images,
    make_report,
    registry,
)

pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "gate_images", "registry"]  # fixtures used by name
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class GateRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def reason(self) -> str:
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got: {self.stderr!r}"
        return lines[0]


def run_gate(
    *args: str, key: str | None = REPORT_KEY, env: dict[str, str] | None = None
) -> GateRun:
    """The gate as CI runs it: a separate process, judged by exit code and output."""
    environ = {k: v for k, v in os.environ.items() if k != "CONFORMANCE_REPORT_KEY"}
    if key is not None:
        environ["CONFORMANCE_REPORT_KEY"] = key
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "conformance.gate", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=environ,
        timeout=120,
    )
    return GateRun(done.returncode, done.stdout, done.stderr)


def write(path: Path, report: dict[str, Any]) -> Path:
    path.write_text(json.dumps(report, indent=2))
    return path


@pytest.fixture
def repo_path() -> str:
    return f"gate-tests/app-{uuid.uuid4().hex[:8]}"


def test_green_report_is_pushed_and_pulls_back_as_the_same_image(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    report = write(tmp_path / "report.json", make_report(image.id))
    target = f"{registry.host}/{repo_path}"

    gate = run_gate(
        "--image", image.ref, "--report", str(report), "--repository", target,
        "--tag", "abc1234", "--tag", "v1.2.3",
    )  # fmt: skip

    assert gate.returncode == 0, gate.stderr
    printed = gate.stdout.strip()
    assert printed.startswith(f"{target}@sha256:")
    digest = printed.rsplit("@", 1)[1]
    assert repo_path in registry.catalog()
    assert sorted(registry.tags(repo_path)) == ["abc1234", "v1.2.3"]
    for tag in ("abc1234", "v1.2.3"):
        manifest_digest, manifest = registry.manifest(repo_path, tag)
        assert manifest_digest == digest
        # The manifest's config blob IS the image ID: the registry holds exactly this image.
        assert manifest["config"]["digest"] == image.id

    # The gate drops the local tags it made to push, so this pull asks the registry.
    assert not _has(docker_client, f"{target}:abc1234")
    pulled = docker_client.images.pull(target, tag="abc1234")
    assert pulled.id == image.id
    assert f"{target}@{digest}" in pulled.attrs["RepoDigests"]


def _has(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def test_the_default_tag_is_the_tag_of_the_image(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    report = write(tmp_path / "report.json", make_report(image.id))
    gate = run_gate(
        "--image", image.ref, "--report", str(report),
        "--repository", f"{registry.host}/{repo_path}",
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr
    assert registry.tags(repo_path) == [image.ref.rsplit(":", 1)[1]]


def test_allowed_waivers_and_skips_are_pushed(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    statuses = {"IMG-USER": "passed", "IMG-SIZE": "waived", "SPA-BROWSER": "skipped"}
    report = make_report(image.id, statuses, waivers={"IMG-SIZE": "fork ships CUDA"})
    gate = run_gate(
        "--image", image.ref, "--report", str(write(tmp_path / "r.json", report)),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t",
        "--allow-waiver", "IMG-SIZE", "--allow-skip", "SPA-BROWSER",
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr
    assert "waived IMG-SIZE" in gate.stderr
    assert "skipped SPA-BROWSER" in gate.stderr
    assert registry.tags(repo_path) == ["t"]


# --- refusals -----------------------------------------------------------------
# Each case: (how to make the report file, extra gate args, gate env key, reason fragment).
ReportMaker = Callable[[Path, GateImage, GateImage], Path]


def _report(**kwargs: Any) -> ReportMaker:
    return lambda tmp, image, _other: write(tmp / "r.json", make_report(image.id, **kwargs))


def _tampered(tmp: Path, image: GateImage, _other: GateImage) -> Path:
    report = make_report(image.id, {"IMG-USER": "passed", "FF-CODECS": "failed"})
    report["checks"][1]["status"] = "passed"  # edited after sealing
    report["summary"].update(passed=2, failed=0)
    report["green"] = True
    return write(tmp / "r.json", report)


def _truncated(tmp: Path, image: GateImage, _other: GateImage) -> Path:
    path = write(tmp / "r.json", make_report(image.id))
    path.write_text(path.read_text()[: path.stat().st_size // 2])
    return path


def _for_other_image(tmp: Path, _image: GateImage, other: GateImage) -> Path:
    return write(tmp / "r.json", make_report(other.id))


def _green_flag_lies(tmp: Path, image: GateImage, _other: GateImage) -> Path:
    report = make_report(image.id, {"IMG-USER": "passed", "RUN-READY": "failed"}, green=True)
    return write(tmp / "r.json", report)


def _summary_lies(tmp: Path, image: GateImage, _other: GateImage) -> Path:
    report = make_report(image.id, {"RUN-READY": "error"})
    summary = {**report["summary"], "error": 0}
    summary["passed"] += 1
    return write(tmp / "r.json", make_report(image.id, {"RUN-READY": "error"}, summary=summary))


def _missing(tmp: Path, _image: GateImage, _other: GateImage) -> Path:
    return tmp / "never-written.json"


REFUSALS: dict[str, tuple[ReportMaker, list[str], str | None, str]] = {
    "red report": (
        _report(statuses={"IMG-USER": "passed", "FF-CODECS": "failed"}),
        [],
        REPORT_KEY,
        "the report is not green: FF-CODECS failed",
    ),
    "check errored": (
        _report(statuses={"IMG-USER": "passed", "RUN-READY": "error"}),
        [],
        REPORT_KEY,
        "RUN-READY error",
    ),
    "report for another image ID": (_for_other_image, [], REPORT_KEY, "the report is for image"),
    "tampered report": (_tampered, [], REPORT_KEY, "does not match its seal"),
    "truncated report": (_truncated, [], REPORT_KEY, "is not valid JSON (truncated?)"),
    "missing report": (_missing, [], REPORT_KEY, "no report at"),
    "waiver outside the allowed list": (
        _report(statuses={"IMG-SIZE": "waived"}, waivers={"IMG-SIZE": "big"}),
        ["--allow-waiver", "IMG-LAYERS"],
        REPORT_KEY,
        "IMG-SIZE waived (not allowed: --allow-waiver IMG-SIZE)",
    ),
    "skip not allowed": (
        _report(statuses={"IMG-USER": "passed", "SPA-BROWSER": "skipped"}),
        ["--allow-skip", "SPA-INDEX"],
        REPORT_KEY,
        "SPA-BROWSER skipped (not allowed: --allow-skip SPA-BROWSER)",
    ),
    "green flag contradicts the checks": (_green_flag_lies, [], REPORT_KEY, "RUN-READY failed"),
    "summary contradicts the checks": (
        _summary_lies,
        [],
        REPORT_KEY,
        "the summary does not match the checks it lists",
    ),
    "empty report": (_report(complete=False), [], REPORT_KEY, "checks missing from the report"),
    "plain seal where a key is required": (
        _report(key=None),
        [],
        REPORT_KEY,
        "sealed with 'sha256' but 'hmac-sha256' was expected",
    ),
    "sealed with another key": (_report(key="someone-else"), [], REPORT_KEY, "does not match"),
    "no key to check the seal": (_report(key=None), [], None, "CONFORMANCE_REPORT_KEY is not set"),
    "malformed report": (
        _report(schema_version=1),
        [],
        REPORT_KEY,
        "malformed: schema_version is 1",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_push_nothing(
    case: str,
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    make, extra, key, reason = REFUSALS[case]
    image, other = gate_images
    report = make(tmp_path, image, other)
    before = registry.catalog()

    gate = run_gate(
        "--image", image.ref, "--report", str(report),
        "--repository", f"{registry.host}/{repo_path}", "--tag", "t", *extra,
        key=key,
    )  # fmt: skip

    assert gate.returncode == 1, gate.stderr
    assert gate.reason.startswith("conformance-gate: refused: ")
    assert reason in gate.reason
    assert "Traceback" not in gate.stderr
    assert gate.stdout == ""
    assert registry.catalog() == before
    assert repo_path not in registry.catalog()


def test_an_unknown_image_is_refused(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    report = write(tmp_path / "r.json", make_report(image.id))
    gate = run_gate(
        "--image", "conformance-gate-test:no-such-image", "--report", str(report),
        "--repository", f"{registry.host}/{repo_path}",
    )  # fmt: skip
    assert gate.returncode == 1
    assert "is not in the local Docker daemon" in gate.reason
    assert repo_path not in registry.catalog()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--repository", "ai-video-backend"], "must start with a registry host"),
        (["--repository", "127.0.0.1:5000/app:latest"], "must not carry a tag"),
        (["--repository", "127.0.0.1:5000/App"], "invalid repository path"),
        (["--repository", "127.0.0.1:5000/app", "--tag", "bad tag"], "not a valid Docker tag"),
        (["--repository", "127.0.0.1:5000/app", "--login", "ecr"], "needs --ecr-registry-id"),
        ([], "the following arguments are required: --repository"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], reason: str, tmp_path: Path) -> None:
    gate = run_gate("--image", "x:y", "--report", str(tmp_path / "r.json"), *args)
    assert gate.returncode == 2
    assert gate.reason.startswith("conformance-gate: usage error: ")
    assert reason in gate.reason


def test_a_tag_moved_during_the_push_is_caught(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    repo_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone pushes another image to the same tag between the push and the check."""
    from conformance.gate import push as docker_push
    from conformance.gate.registry import parse_repository

    image, other = gate_images
    target = f"{registry.host}/{repo_path}"
    verify = docker_push._verify

    def push_other_then_verify(*args: Any) -> None:
        docker_client.api.tag(other.id, target, "t")
        for line in docker_client.api.push(target, tag="t", stream=True, decode=True):
            assert "error" not in line, line
        docker_client.api.remove_image(f"{target}:t")
        verify(*args)

    monkeypatch.setattr(docker_push, "_verify", push_other_then_verify)
    with pytest.raises(docker_push.PushFailed, match=r"pushed over concurrently\?"):
        docker_push.push(docker_client, image.id, parse_repository(target), ["t"], None)
    _, manifest = registry.manifest(repo_path, "t")
    assert manifest["config"]["digest"] == other.id


# --- a tag that already holds an image ---------------------------------------------


def _gate_push(
    registry: LocalRegistry, image: GateImage, repo_path: str, tmp_path: Path, *args: str
) -> GateRun:
    report = write(tmp_path / f"report-{image.id[7:19]}.json", make_report(image.id))
    return run_gate(
        "--image", image.ref, "--report", str(report),
        "--repository", f"{registry.host}/{repo_path}", *args,
    )  # fmt: skip


def test_a_rerun_for_the_same_image_changes_nothing(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    docker_client: docker.DockerClient,
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    first = _gate_push(registry, image, repo_path, tmp_path, "--tag", "t")
    assert first.returncode == 0, first.stderr
    before = registry.storage_state()

    again = _gate_push(registry, image, repo_path, tmp_path, "--tag", "t")

    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout  # the same REPO@sha256:... as the first push
    assert f"{image.id} is already there as t: nothing pushed" in again.reason
    assert registry.storage_state() == before  # no upload, no manifest or tag written
    assert registry.manifest(repo_path, "t")[0] == first.stdout.strip().rsplit("@", 1)[1]

    # Control: a plain re-push of the same image by Docker does write (the tag's
    # link files), so the unchanged storage above is the gate's doing, not blindness.
    docker_push(docker_client, registry, repo_path, image, "t")
    assert registry.storage_state() != before


def test_a_tag_holding_another_image_is_refused_unless_replaced(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, other = gate_images
    target = f"{registry.host}/{repo_path}"
    first = _gate_push(registry, other, repo_path, tmp_path, "--tag", "t")
    assert first.returncode == 0, first.stderr
    other_manifest = first.stdout.strip().rsplit("@", 1)[1]
    before = registry.storage_state()

    refused = _gate_push(registry, image, repo_path, tmp_path, "--tag", "t")

    assert refused.returncode == 1, refused.stderr
    assert refused.reason == (
        f"conformance-gate: refused: {target}:t already holds image {other.id} "
        f"({other_manifest}), not {image.id}: pass --replace-tag to move it"
    )
    assert refused.stdout == ""
    assert registry.storage_state() == before
    assert registry.manifest(repo_path, "t")[1]["config"]["digest"] == other.id

    replaced = _gate_push(registry, image, repo_path, tmp_path, "--tag", "t", "--replace-tag")

    assert replaced.returncode == 0, replaced.stderr
    assert f"pushed {image.id} as t (replacing the image under t)" in replaced.reason
    digest, manifest = registry.manifest(repo_path, "t")
    assert manifest["config"]["digest"] == image.id
    assert replaced.stdout.strip() == f"{target}@{digest}"


def test_a_refused_tag_stops_the_other_tags_too(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    """Every tag is looked up before anything is pushed."""
    image, other = gate_images
    assert _gate_push(registry, other, repo_path, tmp_path, "--tag", "old").returncode == 0
    gate = _gate_push(registry, image, repo_path, tmp_path, "--tag", "new", "--tag", "old")
    assert gate.returncode == 1
    assert ":old already holds image" in gate.reason
    assert registry.tags(repo_path) == ["old"]


def test_only_the_tags_missing_the_image_are_pushed(
    registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    repo_path: str,
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    first = _gate_push(registry, image, repo_path, tmp_path, "--tag", "abc1234")
    assert first.returncode == 0, first.stderr
    gate = _gate_push(registry, image, repo_path, tmp_path, "--tag", "abc1234", "--tag", "v1")
    assert gate.returncode == 0, gate.stderr
    assert f"pushed {image.id} as v1; already there as abc1234" in gate.reason
    assert gate.stdout == first.stdout
    assert sorted(registry.tags(repo_path)) == ["abc1234", "v1"]
    digest = first.stdout.strip().rsplit("@", 1)[1]
    assert {registry.manifest(repo_path, t)[0] for t in ("abc1234", "v1")} == {digest}


def test_an_unreadable_registry_is_refused_before_pushing(
    gate_images: tuple[GateImage, GateImage], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    image, _ = gate_images
    report = write(tmp_path / "r.json", make_report(image.id))
    gate = run_gate(
        "--image", image.ref, "--report", str(report), "--repository", f"{host}/app", "--tag", "t"
    )  # fmt: skip
    assert gate.returncode == 1
    assert gate.reason.startswith(
        f"conformance-gate: refused: cannot tell what {host}/app:t holds now: cannot reach {host}"
    )
