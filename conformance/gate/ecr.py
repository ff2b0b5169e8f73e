"""What Amazon ECR's own API says about a tag: the image it holds, and whether it may move.

The ECR API answers with the push credentials the gate already has (boto3's
chain) and tells a missing repository from a missing tag, and immutable
repositories apart, which the registry protocol does not.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from conformance.gate.errors import Refused
from conformance.gate.oci import (
    DOCKER_MANIFEST,
    INDEXES,
    OCI_MANIFEST,
    RegistryError,
    Resolved,
    parse_manifest,
    sha256_digest,
)
from conformance.gate.registry import EcrRegistry, Repository, ecr_client

_NOT_THERE = ("ImageNotFound", "ImageTagDoesNotMatchDigest")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def ecr_resolve(registry: EcrRegistry, repository: Repository, tag: str) -> Resolved | None:
    """The image ``tag`` names in the ECR repository now, or None (no such tag or repository)."""
    client = ecr_client(registry)
    import botocore.exceptions  # there: ecr_client found boto3

    target = f"{repository.name}:{tag}"
    try:
        answer: dict[str, Any] = client.batch_get_image(
            registryId=registry.account,
            repositoryName=repository.path,
            imageIds=[{"imageTag": tag}],
            acceptedMediaTypes=[OCI_MANIFEST, DOCKER_MANIFEST, *INDEXES],
        )
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "RepositoryNotFoundException":
            return None
        raise Refused(f"cannot tell what {target} holds now: {exc}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise Refused(f"cannot tell what {target} holds now: {exc}") from None
    images = answer.get("images") or []
    if not images:
        failures = answer.get("failures") or [{}]
        code = failures[0].get("failureCode", "")
        if code in _NOT_THERE:
            return None
        reason = failures[0].get("failureReason") or code or "no image and no reason"
        raise Refused(f"cannot tell what {target} holds now: ECR says {reason}")
    image = images[0]
    manifest = str(image.get("imageManifest", "")).encode()
    digest = str(image.get("imageId", {}).get("imageDigest", ""))
    if sha256_digest(manifest) != digest:
        raise Refused(f"ECR's manifest for {target} does not hash to its digest {digest}")
    try:
        media_type, body = parse_manifest(manifest, image.get("imageManifestMediaType"), target)
    except RegistryError as exc:
        raise Refused(str(exc)) from None
    return Resolved(repository, digest, body["config"]["digest"], media_type, len(manifest))


def ecr_tag_immutable(registry: EcrRegistry, repository: Repository, tag: str) -> bool:
    """Whether the repository's settings forbid moving ``tag`` (an absent repository: no)."""
    client = ecr_client(registry)
    import botocore.exceptions  # there: ecr_client found boto3

    try:
        answer: dict[str, Any] = client.describe_repositories(
            registryId=registry.account, repositoryNames=[repository.path]
        )
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "RepositoryNotFoundException":
            return False
        raise Refused(f"cannot read the settings of {repository.name}: {exc}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise Refused(f"cannot read the settings of {repository.name}: {exc}") from None
    settings = (answer.get("repositories") or [{}])[0]
    mutability = settings.get("imageTagMutability", "MUTABLE")
    # *_WITH_EXCLUSION: tags matching a filter (wildcard *) behave the other way.
    excluded = any(
        fnmatch.fnmatchcase(tag, entry.get("filter", ""))
        for entry in settings.get("imageTagMutabilityExclusionFilters") or []
    )
    immutable = str(mutability).startswith("IMMUTABLE")
    return immutable != excluded
