"""The gate's ECR login path, without AWS.

moto's server plays the ECR API on loopback and boto3 (the real client) is
pointed at it with AWS_ENDPOINT_URL_ECR. A local registry that accepts only
the credentials moto's token decodes to plays the ECR registry, so a push
that lands there proves the token reached Docker.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.gate.errors import Refused
from conformance.gate.registry import EcrRegistry, ecr_auth_config, ecr_registry
from conformance.tests import prereq
from conformance.tests.registry import (
    ECR_ACCOUNT,
    ECR_LOGIN,
    GateImage,
    LocalRegistry,
    docker_client,
    ecr_like_registry,
    gate_images,
    make_report,
)
from conformance.tests.test_gate_registry import run_gate

# boto3 and moto come with tox -e gate (an error there if missing); elsewhere a skip.
prereq.module("boto3", "pip install boto3 (tox -e gate installs it)", "gate")
prereq.module("moto.server", "pip install 'moto[server]' (tox -e gate installs it)", "gate")
pytestmark = pytest.mark.gate  # run by tox -e gate (needs Docker and docker-registry)
__all__ = ["docker_client", "ecr_like_registry", "gate_images"]  # fixtures used by name

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Keep boto3 away from the machine's own AWS files and the metadata service.
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_ecr() -> Iterator[str]:
    """moto's HTTP server on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_ecr: str) -> dict[str, str]:
    env = {**FAKE_AWS, "AWS_ENDPOINT_URL_ECR": moto_ecr}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", ("123456789012", "us-east-1")),
        (
            "210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            ("210987654321", "us-gov-west-1"),
        ),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ("123456789012", "cn-north-1")),
        ("public.ecr.aws", None),
        ("ghcr.io", None),
        ("127.0.0.1:5000", None),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", None),
        ("12345.dkr.ecr.us-east-1.amazonaws.com", None),
    ],
)
def test_ecr_hosts_are_recognised(host: str, expected: tuple[str, str] | None) -> None:
    assert ecr_registry(host) == (EcrRegistry(*expected) if expected else None)


def test_the_token_call_yields_a_docker_login(aws_env: dict[str, str]) -> None:
    auth = ecr_auth_config(EcrRegistry(ECR_ACCOUNT, "us-east-1"))
    assert (auth["username"], auth["password"]) == ECR_LOGIN


def test_an_unreachable_ecr_api_is_a_one_line_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(Refused, match=f"ECR login for account {ECR_ACCOUNT} failed"):
        ecr_auth_config(EcrRegistry(ECR_ACCOUNT, "us-east-1"))


def test_missing_aws_credentials_are_a_one_line_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.setenv(name, FAKE_AWS[name])
    # Even if credentials were found, nothing would leave the machine.
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(Refused, match="Unable to locate credentials"):
        ecr_auth_config(EcrRegistry(ECR_ACCOUNT, "us-east-1"))


def _green_report(tmp_path: Path, image: GateImage) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(make_report(image.id)))
    return path


def test_ecr_login_pushes_with_the_token(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    aws_env: dict[str, str],
    tmp_path: Path,
) -> None:
    image, _ = gate_images
    repo_path = f"gate-tests/ecr-{uuid.uuid4().hex[:8]}"
    gate = run_gate(
        "--image", image.ref, "--report", str(_green_report(tmp_path, image)),
        "--repository", f"{ecr_like_registry.host}/{repo_path}", "--tag", "abc1234",
        "--login", "ecr", "--ecr-registry-id", ECR_ACCOUNT, "--ecr-region", "us-east-1",
        env=aws_env,
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr
    digest = gate.stdout.strip().rsplit("@", 1)[1]
    assert ecr_like_registry.tags(repo_path) == ["abc1234"]
    assert ecr_like_registry.manifest(repo_path, "abc1234")[0] == digest


def test_without_the_token_the_registry_turns_the_push_away(
    ecr_like_registry: LocalRegistry,
    gate_images: tuple[GateImage, GateImage],
    aws_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Control for the test above: Docker's own (absent) login is not enough."""
    image, _ = gate_images
    repo_path = f"gate-tests/ecr-{uuid.uuid4().hex[:8]}"
    gate = run_gate(
        "--image", image.ref, "--report", str(_green_report(tmp_path, image)),
        "--repository", f"{ecr_like_registry.host}/{repo_path}", "--tag", "t",
        "--login", "docker", env={**aws_env, "DOCKER_CONFIG": str(tmp_path / "no-docker-config")},
    )  # fmt: skip
    assert gate.returncode == 3
    assert "push failed" in gate.reason
    assert "no basic auth credentials" in gate.reason
    assert repo_path not in ecr_like_registry.catalog()


def test_an_ecr_host_triggers_the_login_before_anything_is_pushed(
    gate_images: tuple[GateImage, GateImage], tmp_path: Path
) -> None:
    """auto login on a real ECR host name; the ECR API is a closed local port."""
    image, _ = gate_images
    env = {**FAKE_AWS, "AWS_ENDPOINT_URL_ECR": f"http://127.0.0.1:{_closed_port()}"}
    env["AWS_MAX_ATTEMPTS"] = "1"
    gate = run_gate(
        "--image", image.ref, "--report", str(_green_report(tmp_path, image)),
        "--repository", f"{ECR_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/ai-video-backend",
        "--tag", "t", env=env,
    )  # fmt: skip
    assert gate.returncode == 1
    assert f"refused: ECR login for account {ECR_ACCOUNT} failed" in gate.reason
