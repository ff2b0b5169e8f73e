"""Push one exact image ID with the Docker SDK and prove the registry holds it.

A tag that already holds this image is left alone (ECR's immutable tags refuse a
re-push, and a re-run should change nothing); a tag that holds another image is
refused unless the caller asked to replace it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from conformance.gate import oci
from conformance.gate.ecr import ecr_resolve, ecr_tag_immutable
from conformance.gate.errors import PushFailed, Refused
from conformance.gate.registry import EcrRegistry, Repository


@dataclass(frozen=True)
class Pushed:
    """The outcome: one manifest digest for every tag, and what happened to each tag."""

    digest: str
    pushed: tuple[str, ...]  # tags Docker pushed now
    present: tuple[str, ...]  # tags that held this image already: left alone
    replaced: tuple[str, ...] = ()  # tags moved off another image (--replace-tag)

    def summary(self, source_id: str) -> str:
        if not self.pushed:
            return f"{source_id} is already there as {', '.join(self.present)}: nothing pushed"
        text = f"pushed {source_id} as {', '.join(self.pushed)}"
        if self.replaced:
            text += f" (replacing the image under {', '.join(self.replaced)})"
        if self.present:
            text += f"; already there as {', '.join(self.present)}"
        return text


def connect() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise Refused(f"cannot reach the Docker daemon: {exc}") from None
    return client


def image_id(client: docker.DockerClient, ref: str) -> str:
    """The local image ID that ``ref`` names now."""
    try:
        return str(client.images.get(ref).id)
    except docker.errors.ImageNotFound:
        raise LookupError(f"image {ref!r} is not in the local Docker daemon") from None
    except docker.errors.APIError as exc:
        raise LookupError(f"cannot inspect image {ref!r}: {exc.explanation or exc}") from None


def _digest_from_stream(lines: Iterable[dict[str, Any]], target: str) -> str:
    """Read the push progress stream; errors arrive in-band, not as exceptions."""
    digest = None
    for line in lines:
        if "error" in line:
            detail = line.get("errorDetail", {}).get("message") or line["error"]
            raise PushFailed(f"push of {target} failed: {detail}")
        aux = line.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = str(aux["Digest"])
    if not digest:
        raise PushFailed(f"push of {target} reported no digest")
    return digest


def current(
    repository: Repository, tag: str, auth_config: dict[str, str] | None, ecr: EcrRegistry | None
) -> oci.Resolved | None:
    """What ``tag`` holds in the registry now (None: nothing), asked with the push's login."""
    if ecr is not None:
        return ecr_resolve(ecr, repository, tag)
    try:
        return oci.resolve(repository, tag, auth_config)
    except oci.NotFound:
        return None
    except oci.RegistryError as exc:
        raise Refused(f"cannot tell what {repository.name}:{tag} holds now: {exc}") from None


def _check_replace(
    repository: Repository,
    source_id: str,
    held: dict[str, oci.Resolved],
    replace_tag: bool,
    ecr: EcrRegistry | None,
) -> None:
    for tag, found in held.items():
        target = f"{repository.name}:{tag}"
        if not replace_tag:
            raise Refused(
                f"{target} already holds image {found.config_digest} "
                f"({found.manifest_digest}), not {source_id}: pass --replace-tag to move it"
            )
        if ecr is not None and ecr_tag_immutable(ecr, repository, tag):
            raise Refused(
                f"{target} is an immutable ECR tag: it holds image {found.config_digest} "
                f"({found.manifest_digest}) and cannot be moved to {source_id}"
            )


def push(
    client: docker.DockerClient,
    source_id: str,
    repository: Repository,
    tags: list[str],
    auth_config: dict[str, str] | None,
    *,
    ecr: EcrRegistry | None = None,
    replace_tag: bool = False,
) -> Pushed:
    """Push ``source_id`` under each tag that does not hold it yet; return the outcome.

    Every tag is looked up before anything is pushed, so a refusal pushes nothing.
    """
    found = {tag: current(repository, tag, auth_config, ecr) for tag in tags}
    present = {t: r for t, r in found.items() if r is not None and r.config_digest == source_id}
    held = {t: r for t, r in found.items() if r is not None and r.config_digest != source_id}
    _check_replace(repository, source_id, held, replace_tag, ecr)
    missing = [tag for tag in tags if tag not in present]
    digests = {tag: r.manifest_digest for tag, r in present.items()}
    if missing:
        digest = _push(client, source_id, repository, missing, auth_config)
        digests.update(dict.fromkeys(missing, digest))
    if len(set(digests.values())) != 1:
        named = ", ".join(f"{tag} {digest}" for tag, digest in digests.items())
        raise PushFailed(f"the tags hold different manifests of {source_id}: {named}")
    return Pushed(
        digest=next(iter(digests.values())),
        pushed=tuple(missing),
        present=tuple(present),
        replaced=tuple(held),
    )


def _push(
    client: docker.DockerClient,
    source_id: str,
    repository: Repository,
    tags: list[str],
    auth_config: dict[str, str] | None,
) -> str:
    """Tag ``source_id`` (the ID, never a movable name) and push; return the manifest digest."""
    created: list[str] = []
    try:
        digests = set()
        for tag in tags:
            target = f"{repository.name}:{tag}"
            try:
                existing = client.images.get(target).id
            except docker.errors.ImageNotFound:
                existing = None
            if existing != source_id:
                client.api.tag(source_id, repository.name, tag, force=True)
                created.append(target)
            stream = client.api.push(
                repository.name, tag=tag, stream=True, decode=True, auth_config=auth_config
            )
            digests.add(_digest_from_stream(stream, target))
        if len(digests) != 1:
            raise PushFailed(f"the tags were pushed with different digests: {sorted(digests)}")
        digest = digests.pop()
        _verify(client, source_id, repository, tags, digest, auth_config)
        return digest
    except docker.errors.APIError as exc:
        raise PushFailed(f"Docker refused the push: {exc.explanation or exc}") from None
    except (docker.errors.DockerException, OSError) as exc:
        raise PushFailed(f"the push was interrupted: {exc}") from None
    finally:
        _untag(client, source_id, created)


def _untag(client: docker.DockerClient, source_id: str, created: list[str]) -> None:
    """Drop the local tags made only to push, never the image's last name (that deletes it)."""
    try:
        remaining = list(client.images.get(source_id).tags)
    except docker.errors.APIError:
        return
    for target in created:
        if target in remaining and len(remaining) > 1:
            try:
                client.api.remove_image(target, noprune=True)
                remaining.remove(target)
            except docker.errors.APIError:
                pass


def _verify(
    client: docker.DockerClient,
    source_id: str,
    repository: Repository,
    tags: list[str],
    digest: str,
    auth_config: dict[str, str] | None,
) -> None:
    """Chain image ID -> manifest digest (daemon) and tag -> manifest digest (registry)."""
    repo_digests = client.images.get(source_id).attrs.get("RepoDigests") or []
    if f"{repository.name}@{digest}" not in repo_digests:
        raise PushFailed(
            f"the daemon does not record {repository.name}@{digest} as image {source_id}"
        )
    for tag in tags:
        target = f"{repository.name}:{tag}"
        remote = client.images.get_registry_data(target, auth_config=auth_config).id
        if remote != digest:
            raise PushFailed(
                f"the registry's {target} is {remote}, not the pushed {digest} "
                "(pushed over concurrently?)"
            )
