"""Every container the suite starts, declared once as a row of one table: its name,
the fixture that hands it to checks, the checks that use it, whether it needs the app
to serve first, and its run flags. The table's order is the start order; fixtures.py
and startup.py derive everything from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.container import RunSpec
from conformance.credentials import key_env
from conformance.probes.compose import compose_config, environment
from conformance.probes.errors import FactError
from conformance.profile import Profile


@dataclass(frozen=True)
class Variant:
    name: str
    fixture: str  # the fixture that hands the started container to checks
    checks: tuple[str, ...]  # the check IDs that use it (kept honest by a self-test)
    # Started only once the app serves: a variant of an app that cannot start proves nothing.
    after_app: bool


# The start order: the app first (its start-up is timed on a quiet machine), then the
# idle container the tool runs need, then the variants one after another.
VARIANTS: tuple[Variant, ...] = (
    Variant(
        "app",
        "app_start",
        ("RUN-STARTS", "RUN-READY", "RUN-HEALTH-BODY", "RUN-HEALTHCHECK-CMD", "RUN-DOCKER-HEALTHY",
         "RUN-DETAILED", "RUN-LATENCY", "RUN-GRACEFUL-STOP", "FS-PID1-USER", "FF-TRANSCODE",
         "SEC-AUTH", "SEC-HEADERS", "SPA-INDEX", "SPA-FALLBACK", "SPA-ASSETS", "SPA-ASSET-404",
         "SPA-API-PRECEDENCE", "SPA-TRAVERSAL", "SPA-BROWSER", "LOG-CLEAN", "LOG-STDOUT",
         "LOG-LEVEL", "DEP-ECS"),
        after_app=False,
    ),
    Variant(
        "idle",
        "idle_run",
        ("RUN-HEALTHCHECK-REAL", "FS-PYTHON", "FS-PIP-CHECK", "FF-PRESENT", "FF-CODECS",
         "FF-TRANSCODE", "FF-BINDINGS", "DEP-COMPOSE", "DEP-COMPOSE-FULL"),
        after_app=False,
    ),
    Variant("bad_config", "bad_config_run", ("RUN-BAD-CONFIG",), after_app=True),
    Variant("static_off", "static_off_run", ("SPA-DISABLED",), after_app=True),
    # Its own container, not static_off's: one fault must not fail two IDs.
    Variant("quiet_log", "quiet_log_run", ("LOG-LEVEL",), after_app=True),
    Variant("hardened", "hardened_run", ("RUN-HARDENED",), after_app=True),
    Variant("min_resources", "min_resources_run", ("RUN-MIN-RESOURCES",), after_app=True),
    Variant("compose", "compose_run", ("DEP-COMPOSE",), after_app=True),
    Variant("secrets", "secrets_run", ("LOG-NO-SECRETS",), after_app=True),
    # A low limit of its own: the app container's requests must not use up its burst.
    Variant("rate_limit", "rate_limit_run", ("SEC-RATE-LIMIT",), after_app=True),
)  # fmt: skip
VARIANT_BY_FIXTURE = {variant.fixture: variant for variant in VARIANTS}


IDLE_SCRIPT = "import signal; signal.pause()"


def app_env(profile: Profile) -> dict[str, str]:
    """Every container's environment: the profile's, and the canary API key the suite's
    requests present. The other canary secrets go only to the `secrets` container: an
    app that reacts to a configured token must not change under the other checks."""
    return {**profile.runtime.env, **key_env(profile), "LOG_LEVEL": "INFO"}


class DeployFileError(ValueError):
    """A deployment artifact the suite cannot read."""


def load_compose_service(files: list[Path], service: str, env: dict[str, str]) -> dict[str, Any]:
    """The service as compose itself resolves it (interpolation, .env, overrides)."""
    missing = [path for path in files if not path.is_file()]
    if missing:
        key = "deploy.compose_file" if missing[0] == files[0] else "deploy.compose_overrides"
        raise DeployFileError(f"{missing[0]} not found (profile {key})")
    try:
        data = compose_config(files, env)
    except FactError as exc:
        raise DeployFileError(f"{exc} (profile deploy.compose_env gives its variables)") from None
    services = data.get("services") or {}
    if service not in services:
        raise DeployFileError(
            f"{files[0]}: no service {service!r} (profile deploy.compose_service)"
        )
    return dict(services[service])


def load_ecs_container(path: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(task definition, container definition)."""
    try:
        task = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeployFileError(f"{path} not found (profile deploy.ecs_task_definition)") from None
    except (OSError, ValueError) as exc:
        raise DeployFileError(f"{path}: cannot parse it ({exc})") from None
    containers = task.get("containerDefinitions") or []
    for container in containers:
        if not name or container.get("name") == name:
            return task, container
    raise DeployFileError(
        f"{path}: no container definition {name!r} (profile deploy.ecs_container)"
    )


def specs(profile: Profile, compose_files: list[Path] | None) -> dict[str, RunSpec]:
    """Every variant's RunSpec (the compose one only when its file can be read)."""
    env = app_env(profile)
    rt = profile.runtime
    result = {
        "app": RunSpec("app", env),
        "hardened": RunSpec(
            "hardened",
            env,
            kwargs={
                "read_only": True,
                "tmpfs": {path: "mode=1777" for path in rt.hardened_tmpfs},
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges"],
            },
        ),
        "min_resources": RunSpec(
            "min_resources",
            env,
            kwargs={
                "mem_limit": f"{rt.min_memory_mb}m",
                "memswap_limit": f"{rt.min_memory_mb}m",
                "nano_cpus": int(rt.min_cpus * 1e9),
            },
        ),
        "secrets": RunSpec("secrets", {**env, **profile.logs.run_secrets}),
        "static_off": RunSpec("static_off", {**env, **profile.spa.disable_env}),
        "quiet_log": RunSpec("quiet_log", {**env, "LOG_LEVEL": profile.logs.quiet_level}),
        "rate_limit": RunSpec("rate_limit", {**env, **profile.security.rate_limit_env}),
        "bad_config": RunSpec(
            "bad_config",
            # the key too: the bad setting must be the only thing wrong
            {**profile.runtime.env, **key_env(profile), **rt.bad_config_env},
            publish=False,
            wait="exit",
            timeout_s=rt.bad_config_timeout_s,
            kwargs={"network_mode": "none"},
        ),
        # The image with its server replaced by an idle interpreter (no `sleep` needed,
        # as in an image without coreutils): programs of the image run here by argv.
        "idle": RunSpec(
            "idle",
            env,
            publish=False,
            wait="running",
            kwargs={"entrypoint": [profile.fs.python, "-c", IDLE_SCRIPT], "network_mode": "none"},
        ),
    }
    if not compose_files:
        return result
    try:
        service = load_compose_service(
            compose_files, profile.deploy.compose_service, profile.deploy.compose_env
        )
    except DeployFileError:
        return result  # DEP-COMPOSE reports the problem
    tmpfs = service.get("tmpfs") or []
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    kwargs: dict[str, Any] = {
        "read_only": bool(service.get("read_only", False)),
        "tmpfs": {str(path).split(":")[0]: "mode=1777" for path in tmpfs},
        "cap_drop": list(service.get("cap_drop") or []),
        "security_opt": [str(s) for s in service.get("security_opt") or []],
    }
    if service.get("user"):
        kwargs["user"] = str(service["user"])
    result["compose"] = RunSpec("compose", environment(service), kwargs=kwargs)
    return result
