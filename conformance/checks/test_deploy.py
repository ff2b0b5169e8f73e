"""DEP: the deployment artifacts agree with the image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.container import Started
from conformance.fixtures import establish
from conformance.probes import tools
from conformance.probes.accounts import PasswdEntry
from conformance.probes.compose import container_ports, environment
from conformance.probes.requested import requested_paths
from conformance.probes.tools import ToolRun
from conformance.profile import Profile
from conformance.settings import Resolved
from conformance.variants import (
    DeployFileError,
    load_compose_service,
    load_ecs_container,
)
from conformance.verdict import Check


def _health_argv(command: list[str]) -> list[str]:
    if command and command[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(command[1:])]
    return command[1:] if command and command[0] == "CMD" else command


def _artifact(conformance: Resolved, key: str, what: str, check: Check) -> Path:
    """The artifact's path, or a one-line failure naming the profile key."""
    __tracebackhide__ = True
    path = conformance.deploy_path(key)
    if path is None:
        check.fail(
            f"no {what} configured (profile deploy.{key} is empty)",
            f"a {what}",
            f"set deploy.{key} in the profile, or exclude {check.id} with a reason",
        )
    return path


def _run(started: Started, argv: list[str], user: str) -> ToolRun:
    return establish(lambda: tools.run(started.container, argv, user))


def _uid(spec: str, passwd: dict[str, PasswdEntry]) -> str:
    user = spec.split(":", 1)[0]
    return (
        user if user.isdigit() else str(passwd[user].uid) if user in passwd else f"unknown ({user})"
    )


def key_problems(container: dict[str, Any], contract: Profile) -> list[str]:
    """The API keys come from `secrets` (Secrets Manager or SSM, resolved by the agent),
    never from plain `environment`, which anyone who can describe the task reads."""
    name = contract.security.api_keys_env
    plain = {str(e.get("name")) for e in container.get("environment") or []}
    secret = {str(e.get("name")) for e in container.get("secrets") or []}
    if name in plain:
        return [f"{name} in plain environment (it must come from secrets)"]
    if contract.security.required and name not in secret:
        return [f"{name} not given from secrets (a production task needs its keys)"]
    return []


@pytest.mark.check("DEP-ECS")
def test_ecs_task_definition(
    app: Started,
    image_config: dict[str, Any],
    image_passwd: dict[str, PasswdEntry],
    contract: Profile,
    conformance: Resolved,
    check: Check,
) -> None:
    dep, port = contract.deploy, contract.image.port
    path = _artifact(conformance, "ecs_task_definition", "ECS task definition", check)
    try:
        task, container = load_ecs_container(path, dep.ecs_container)
    except DeployFileError as exc:
        check.fail(
            str(exc),
            "a readable task definition",
            "fix deploy.ecs_task_definition (relative to the profile file, or to pytest's "
            "rootdir without one) or the file",
        )
    problems = []
    ports = [m.get("containerPort") for m in container.get("portMappings") or []]
    if port not in ports:
        problems.append(f"containerPort {ports} vs the service port {port}")
    cpu = int(str(container.get("cpu") or task.get("cpu") or 0))
    memory = int(str(container.get("memory") or task.get("memory") or 0))
    if cpu < dep.min_cpu_units or memory < contract.runtime.min_memory_mb:
        problems.append(
            f"cpu {cpu} / memory {memory} below {dep.min_cpu_units} / "
            f"{contract.runtime.min_memory_mb}"
        )
    # The task's user must be the image's app user (it owns the data directories).
    ecs_user = str(container.get("user") or "")
    image_user = str(image_config.get("User") or "")
    app_uid = _uid(contract.image.user, image_passwd)
    if ecs_user and _uid(ecs_user, image_passwd) != app_uid:
        problems.append(f"user {ecs_user} vs the image's {contract.image.user} (UID {app_uid})")
    problems += key_problems(container, contract)
    command = (container.get("healthCheck") or {}).get("command") or []
    if command:
        result = _run(app, _health_argv(command), ecs_user or image_user)
        if not result.ok:
            problems.append(f"health command {command}: {result.why(120)}")
    else:
        problems.append("no healthCheck command")
    check.expect(
        not problems,
        "; ".join(problems)
        or f"port {port}, cpu {cpu}, memory {memory}, user {ecs_user or image_user}, "
        "health command ok",
        f"port {port}, cpu ≥ {dep.min_cpu_units}, memory ≥ {contract.runtime.min_memory_mb}, "
        f"the image's user, {contract.security.api_keys_env} from secrets only, "
        "a health command that succeeds in the image",
        f"make {dep.ecs_task_definition} match the image (or the image match the deployment)",
    )


@pytest.mark.check("DEP-COMPOSE")
def test_compose_service(
    compose_run: Started | None,
    idle_run: Started,
    image_config: dict[str, Any],
    contract: Profile,
    conformance: Resolved,
    check: Check,
    request: pytest.FixtureRequest,
) -> None:
    dep, port, health_path = contract.deploy, contract.image.port, contract.runtime.health_path
    _artifact(conformance, "compose_file", "compose file", check)
    try:
        service = load_compose_service(
            conformance.compose_files() or [], dep.compose_service, dep.compose_env
        )
    except DeployFileError as exc:
        check.fail(
            str(exc),
            "a compose file compose can use",
            "fix deploy.compose_file (relative to the profile file, or to pytest's rootdir "
            "without one), its overrides and variables, or the file",
        )
    assert compose_run is not None, "the compose file was read, so its variant exists"
    problems = []
    if str(port) not in container_ports(service):
        problems.append(f"ports {service.get('ports')} do not publish container port {port}")
    test = list((service.get("healthcheck") or {}).get("test") or [])
    user = str(service.get("user") or "")
    if not test or test[0] == "NONE":
        problems.append("the service has no healthcheck")
    else:
        argv = _health_argv(test)
        # Only now: a compose file the suite cannot use is reported even when the
        # idle container (an error of its own) is down.
        idle: Started = request.getfixturevalue("idle")
        # The path it probes, seen by a stand-in server it talks to (whatever the
        # command is: a module of the app, curl, a script), never guessed from its text.
        asked = establish(
            lambda: requested_paths(
                idle.container,
                contract.fs.python,
                argv,
                port,
                json.dumps(contract.runtime.health_body),
                environment(service),
                user,
                contract.image.healthcheck_max_timeout_s,
            )
        )
        probed = sorted(set(asked.paths))
        if not probed:
            problems.append(
                f"healthcheck {test} requested no HTTP path on port {port} (exit {asked.rc}), "
                f"so it does not probe {health_path}"
            )
        elif probed != [health_path]:
            problems.append(f"healthcheck {test} probes {', '.join(probed)}, not {health_path}")
        if compose_run.ready_after_s is not None:
            result = _run(compose_run, argv, user)
            if not result.ok:
                problems.append(f"healthcheck {test}: {result.why(120)}")
            # It must depend on the answer: with no server at all, it fails.
            elif _run(idle, argv, user).ok:
                problems.append(f"healthcheck {test} succeeds with no server running")
    if compose_run.ready_after_s is None:
        problems.append(
            f"the image does not serve with the service's settings: {compose_run.problem}"
        )
    check.expect(
        not problems,
        "; ".join(problems)
        or f"port {port}, healthcheck probes {health_path}, serves with the service's "
        "settings, healthcheck passes when it serves and fails when nothing does",
        f"container port {port}, a healthcheck that requests {health_path}, the service's "
        "settings work",
        f"make {dep.compose_file} match the image (or the image match the compose service)",
    )
