"""Session start and finish: check the inputs, sweep, start containers ahead, write reports."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from conformance.container import DAEMON_ERRORS, Lab, sweep_stale
from conformance.daemon import DaemonWatch
from conformance.deviations import deviations, profile_digest
from conformance.fixtures import health_wait_s
from conformance.report import build_report, write
from conformance.session import SuiteState
from conformance.variants import VARIANT_BY_FIXTURE, VARIANTS, specs
from conformance.verdict import check_id_of

REFERENCE_IMAGE = "ai-video-backend"  # the one scripts/build-backend.sh builds


def _short(exc: BaseException) -> str:
    reason = " ".join(str(exc).split())
    return reason if len(reason) <= 100 else reason[:99] + "…"


def _connect() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # docker raises several unrelated types here
        raise pytest.UsageError(
            f"cannot reach the Docker daemon ({_short(exc)}): start it or point DOCKER_HOST at it"
        ) from None
    return client


def _daemon_went_away(exc: BaseException) -> pytest.UsageError:
    return pytest.UsageError(
        f"the Docker daemon went away before the checks started ({_short(exc)}): "
        "start it or point DOCKER_HOST at it, and run again"
    )


def _image(client: docker.DockerClient, ref: str) -> dict[str, Any]:
    try:
        return dict(client.images.get(ref).attrs)
    except docker.errors.ImageNotFound:
        name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
        how = (
            f"build it (scripts/build-backend.sh {tag or 'latest'})"
            if name == REFERENCE_IMAGE
            else "build it (docker build -t " + ref + " ...)"
        )
        raise pytest.UsageError(
            f"image {ref} not found locally: {how} or pull it (docker pull {ref})"
        ) from None
    except docker.errors.APIError as exc:
        raise pytest.UsageError(f"image {ref}: {exc.explanation or exc}") from None
    except DAEMON_ERRORS as exc:
        raise _daemon_went_away(exc) from None


def start_suite(config: pytest.Config, state: SuiteState, items: list[pytest.Item]) -> None:
    """Validate image and daemon, then start every needed container in the background."""
    resolved = state.resolved
    assert resolved is not None
    client = _connect()
    state.image_attrs = _image(client, resolved.image)
    state.client = client
    try:
        sweep_stale(client)
    except DAEMON_ERRORS as exc:
        raise _daemon_went_away(exc) from None
    state.watch = DaemonWatch()
    state.watch.start()
    profile = resolved.profile
    lab = Lab(
        client,
        resolved.image,
        profile.image.port,
        profile.runtime.health_path,
        resolved.ready_timeout_s,
    )
    lab.keep = resolved.keep_containers
    lab.fs_wanted += (f"{profile.fs.frontend_dir}/index.html",)
    state.lab = lab
    state.specs = specs(profile, resolved.compose_files())
    state.active = True
    runnable = [i for i in items if not i.get_closest_marker("skip")]
    for item in items:
        state.book.expect(check_id_of(item) or item.name, item.nodeid)
    needed = {
        VARIANT_BY_FIXTURE[name]
        for item in runnable
        for name in getattr(item, "fixturenames", [])
        if name in VARIANT_BY_FIXTURE
    }
    if any(variant.after_app for variant in needed):
        needed.add(VARIANTS[0])
    if any("image_fs" in getattr(item, "fixturenames", []) for item in runnable):
        lab.image_filesystem()  # exported in the background while containers start
    # The app first, timed on a quiet machine; the others all at once when it has
    # settled (nothing else is timed: RUN-LATENCY runs after RUN-STARTS' wait).
    first = None
    for variant in VARIANTS:
        if variant in needed and variant.name in state.specs:
            started = lab.start(state.specs[variant.name], after=first)
            first = first or started
    health = (state.image_attrs.get("Config") or {}).get("Healthcheck") or {}
    wants_health = any(check_id_of(i) == "RUN-DOCKER-HEALTHY" for i in runnable)
    if wants_health and "app" in needed and health.get("Test") not in (None, [], ["NONE"]):
        lab.watch_health("app", health_wait_s(health, profile))


def finish_suite(config: pytest.Config, state: SuiteState) -> None:
    """Remove the containers, then write the JSON report and the Markdown summary."""
    if state.watch is not None:
        state.watch.close()
    if state.lab is not None:
        state.lab.close()
    resolved = state.resolved
    if resolved is None:
        return
    finished = datetime.now(UTC)
    attrs = state.image_attrs
    image = {
        "ref": resolved.image,
        "id": attrs.get("Id"),
        "repo_digests": list(attrs.get("RepoDigests") or []),
    }
    profile = {
        "path": str(resolved.profile.path) if resolved.profile.path else None,
        "digest": profile_digest(resolved.profile),
        "values": resolved.report_values(),
        "waivers": dict(resolved.profile.waivers),
    }
    results = state.book.finish()
    ran = {r.id for r in results if r.status != "excluded"}
    report = build_report(
        results,
        image,
        profile,
        state.started_at,
        finished,
        time.monotonic() - state.started_mono,
        policy=state.policy,
        deviations=deviations(resolved.profile),
        selection=state.selection.as_json(ran),
    )
    state.report = report
    base = Path(config.invocation_params.dir)
    state.written = write(report, resolved.json_report, resolved.markdown_report, base)
    if state.signer is not None and resolved.attestation:
        state.written.append(write_attestation(report, state.signer, base / resolved.attestation))


def write_attestation(report: dict[str, Any], signer: Any, path: Path) -> Path:
    """Sign an in-toto Statement about the image (the report inside) and write its envelope."""
    from conformance.attestation import make_statement, sign

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(sign(make_statement(report), signer))
    return path
