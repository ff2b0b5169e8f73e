"""Where the gate pushes to, and how it logs in there (Amazon ECR or plain Docker)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from conformance.gate.errors import Refused, UsageError

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class Repository:
    """A repository reference that names its registry explicitly."""

    host: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.host}/{self.path}"


@dataclass(frozen=True)
class EcrRegistry:
    account: str
    region: str


def parse_repository(text: str, option: str = "--repository") -> Repository:
    """Parse REGISTRY/REPO; a bare name would silently mean Docker Hub, so refuse it."""
    host, sep, path = text.partition("/")
    explicit_host = "." in host or ":" in host or host == "localhost"
    if not sep or not explicit_host:
        raise UsageError(
            f"{option} {text!r} must start with a registry host "
            "(e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/ai-video-backend)"
        )
    if "@" in path or ":" in path:
        raise UsageError(f"{option} {text!r} must not carry a tag or digest (use --tag)")
    if not all(_PATH_COMPONENT.match(part) for part in path.split("/")):
        raise UsageError(f"{option} {text!r} has an invalid repository path {path!r}")
    return Repository(host=host, path=path)


def parse_reference(text: str, option: str = "IMAGE") -> tuple[Repository, str]:
    """REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX -> the repository and the tag or digest."""
    name, at, digest = text.partition("@")
    if at:
        if not _DIGEST.match(digest):
            raise UsageError(f"{option} {text!r} has no sha256 digest after '@'")
        return parse_repository(name, option), digest
    head, slash, last = text.rpartition("/")
    if not slash:
        parse_repository(text, option)  # raises: no registry host
    base, colon, tag = last.partition(":")
    if not colon:
        raise UsageError(f"{option} {text!r} names neither a tag (:TAG) nor a digest (@sha256:...)")
    if not _TAG.match(tag):
        raise UsageError(f"{option} {text!r} has an invalid tag {tag!r}")
    return parse_repository(f"{head}/{base}", option), tag


def check_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise UsageError(f"--tag {tag!r} is not a valid Docker tag")
    return tag


def ecr_registry(host: str) -> EcrRegistry | None:
    """The ECR account and region encoded in ``host``, or None for other registries."""
    match = _ECR_HOST.match(host)
    return EcrRegistry(match["account"], match["region"]) if match else None


def ecr_client(registry: EcrRegistry) -> Any:
    """boto3's ECR client for the registry's region, or Refused when boto3 is missing."""
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise Refused(
            "pushing to ECR needs boto3: pip install boto3 (or 'ai-video-conformance[ecr]')"
        ) from None
    try:
        # A fresh session: boto3's default one caches credentials across calls.
        return boto3.session.Session().client("ecr", region_name=registry.region)
    except botocore.exceptions.BotoCoreError as exc:
        raise Refused(f"cannot set up the ECR client: {exc}") from None


def ecr_auth_config(registry: EcrRegistry) -> dict[str, str]:
    """Exchange the caller's AWS credentials for a Docker login to ``registry``.

    Uses ``ecr:GetAuthorizationToken`` (what ``aws ecr get-login-password`` does);
    boto3 finds credentials the usual way, e.g. from OIDC in GitHub Actions.
    """
    client = ecr_client(registry)
    import botocore.exceptions  # there: ecr_client found boto3

    try:
        answer: dict[str, Any] = client.get_authorization_token(registryIds=[registry.account])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise Refused(f"ECR login for account {registry.account} failed: {exc}") from None
    try:
        data = answer["authorizationData"][0]
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    except (KeyError, IndexError, ValueError) as exc:
        raise Refused(f"ECR returned an unusable authorization token: {exc!r}") from None
    if not password:
        raise Refused("ECR returned an authorization token without a password")
    return {"username": user, "password": password}
