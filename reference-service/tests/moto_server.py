"""moto's S3 in server mode on 127.0.0.1: the real S3 protocol, spoken by the real boto3.

`moto_s3` gives a test an empty bucket and the environment boto3's standard chain reads
(AWS_ENDPOINT_URL(_S3), fake credentials, a region), nothing of the developer's own AWS
configuration; everything it made is reset afterwards. Use it by importing both fixtures
into the test module.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

# Fake, but shaped like real ones: a test asserts neither appears in a log or a message.
ACCESS_KEY_ID = "AKIAMOTOTESTKEY12345"
SECRET_ACCESS_KEY = "moto-test-secret/DoNotLogThis+0123456789abc"
REGION = "eu-west-1"


@dataclass
class MotoS3:
    endpoint: str
    bucket: str
    client: Any  # a boto3 S3 client of the test's own, for looking at the bucket

    def keys(self, prefix: str = "") -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def object(self, key: str) -> dict[str, Any]:
        answer = self.client.get_object(Bucket=self.bucket, Key=key)
        return {"ContentType": answer["ContentType"], "Body": answer["Body"].read()}

    def deny_access(self) -> None:
        """From now on moto checks signatures against its IAM, which knows no keys: every
        request is refused (403 InvalidAccessKeyId), as S3 refuses bad credentials."""
        self._auth_after("0")

    def allow_access(self) -> None:
        self._auth_after("inf")

    def _auth_after(self, count: str) -> None:
        httpx.post(f"{self.endpoint}/moto-api/reset-auth", content=count).raise_for_status()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.fail(
            "moto's server mode is missing: pip install -r reference-service/requirements-dev.txt"
            " (moto[server])",
            pytrace=False,
        )
    # The stand-in's own log (a line per request; at DEBUG, each request's headers with
    # the access key id) is S3's side, not the service's: kept out of captured logs.
    quieted = [logging.getLogger(name) for name in ("werkzeug", "moto")]
    levels = [logger.level for logger in quieted]
    for logger in quieted:
        logger.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for logger, level in zip(quieted, levels, strict=True):
            logger.setLevel(level)


def use_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str, tmp_path: Path) -> None:
    """boto3's whole standard chain pointed at `endpoint` with the fake credentials."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    missing = tmp_path / "no-aws-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)


@pytest.fixture
def moto_s3(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[MotoS3]:
    import boto3

    use_endpoint(monkeypatch, moto_endpoint, tmp_path)
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    client = boto3.session.Session().client("s3")
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3 = MotoS3(moto_endpoint, bucket, client)
    try:
        yield s3
    finally:
        s3.allow_access()
        httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()
