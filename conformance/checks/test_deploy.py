"""DEP: the deployment artifacts agree with the image."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.container import Lab, Started
from conformance.credentials import key_env
from conformance.fixtures import (
    HEALTH_SLACK_S,
    ToolRunner,
    Transcode,
    api_client,
    establish,
    health_bound_s,
)
from conformance.full_stack import Stack, StackError, StackSpec
from conformance.job_api import clip_length_ok, probe_result, wait_for_job
from conformance.probes import tools
from conformance.probes.accounts import PasswdEntry
from conformance.probes.compose import (
    INSTALL_HINT,
    compose_command,
    container_ports,
    environment,
    host_environment,
)
from conformance.probes.requested import requested_paths
from conformance.probes.tools import ToolRun
from conformance.profile import Profile
from conformance.settings import Resolved
from conformance.variants import (
    DeployFileError,
    load_compose_service,
    load_ecs_container,
)
from conformance.verdict import Check, blocked


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


def _stack_env(contract: Profile, image: str) -> dict[str, str]:
    """What compose interpolates the full profile with: the profile's variables, the
    image under test, a fresh value for each secret, the canary API key; of the host's
    only what compose itself needs and what full_stack.pass_env names."""
    full = contract.full_stack
    env = {**host_environment(*full.pass_env), **full.compose_env}
    env[full.image_variable] = image
    env.update({name: secrets.token_hex(16) for name in full.secret_variables})
    env.update(key_env(contract))
    return env


def _api_of(stack: Stack, contract: Profile) -> httpx.Client:
    """A client of the stack's API service where its port is published now (a restarted
    container may get another ephemeral port)."""
    port = stack.published_port(contract.full_stack.api_service, contract.image.port)
    return api_client(f"http://127.0.0.1:{port}", contract, timeout_s=30)


def _one_job(
    stack: Stack,
    clip: bytes,
    idle: Started,
    run_tool: ToolRunner,
    contract: Profile,
) -> str:
    """Up, one upload through API → queue → workers → database → storage → download,
    verified; the passing message. Each failing step raises StackError."""
    full, ff = contract.full_stack, contract.ffmpeg
    services = stack.services()
    missing = {full.api_service, full.worker_service, full.database_service} - set(services)
    if missing:
        raise StackError(
            f"profile {full.compose_profile!r} has no service {', '.join(sorted(missing))}"
        )
    stack.label_every_service(services)
    # The workers last, and none at first: a job must wait for one, not run in the API.
    stack.up([full.api_service], {full.worker_service: 0}, full.up_timeout_s)
    up_s = stack.wait_healthy([full.api_service], full.up_timeout_s)
    with _api_of(stack, contract) as http:
        posted = http.post(ff.video_api_path, files={"file": ("clip.mp4", clip, "video/mp4")})
        if posted.status_code != 202:
            raise StackError(f"POST {ff.video_api_path}: HTTP {posted.status_code}: "
                             f"{posted.text[:160]}")  # fmt: skip
        job_id = str(posted.json().get("id"))
        time.sleep(full.queued_probe_s)
        waiting = http.get(f"{ff.video_api_path}/{job_id}").json().get("status")
        if waiting != "queued":
            raise StackError(
                f"with no worker running, job {job_id} is {waiting} after "
                f"{full.queued_probe_s:g} s: the API container runs jobs itself"
            )
        stack.up([full.worker_service], {full.worker_service: full.workers}, full.up_timeout_s)
        stack.wait_healthy([full.worker_service], full.up_timeout_s)
        job = wait_for_job(http, ff.video_api_path, job_id, full.job_timeout_s)
    if job.get("status") != "succeeded":
        raise StackError(
            f"job {job_id} is {job.get('status')}: {str(job.get('error') or '')[:160]}; "
            f"{full.worker_service} logs: {stack.logs_tail(full.worker_service)}"
        )
    query = [part.replace("{job_id}", job_id) for part in full.database_query]
    rc, stored = stack.exec(full.database_service, query)
    if rc != 0 or stored.strip() != "succeeded":
        raise StackError(
            f"{full.database_service} answers {' '.join(stored.split())[:120]!r} (exit {rc}) "
            f"for job {job_id}, not 'succeeded'"
        )
    # Another API container answers for the job: its state and its file live elsewhere.
    for container in stack.containers(full.api_service):
        container.restart(timeout=10)
    stack.wait_healthy([full.api_service], full.up_timeout_s)
    with _api_of(stack, contract) as http:
        job = http.get(f"{ff.video_api_path}/{job_id}").json()
        url = str((job.get("result") or {}).get("file_url") or "")
        result = http.get(url) if url.startswith("/") else httpx.get(url, timeout=30)
    if result.status_code != 200:
        raise StackError(f"after an API restart, GET {url or 'file_url'}: "
                         f"HTTP {result.status_code}")  # fmt: skip
    streams, duration = probe_result(idle, run_tool, contract, result.content, "full-stack")
    if not (streams.get("video") == "h264" and streams.get("audio") == "aac"
            and clip_length_ok(duration, contract.ffmpeg)):  # fmt: skip
        raise StackError(
            f"the download is video {streams.get('video')}, audio {streams.get('audio')}, "
            f"{duration:.2f} s, not H.264/AAC of {ff.clip_s:g} s"
        )
    return (
        f"healthy in {up_s:.0f} s; job queued with no worker, done by {full.workers} workers; "
        f"'succeeded' in {full.database_service}; after an API restart served as H.264/AAC "
        f"{duration:.2f} s"
    )


@pytest.mark.check("DEP-COMPOSE-FULL")
def test_compose_full_stack(
    idle_run: Started,
    run_tool: ToolRunner,
    transcode_result: Transcode,
    lab: Lab,
    contract: Profile,
    conformance: Resolved,
    check: Check,
    tmp_path: Path,
) -> None:
    full = contract.full_stack
    _artifact(conformance, "compose_file", "compose file", check)
    command = compose_command()
    if command is None:
        check.fail("compose is not installed", "compose", f"install it: {INSTALL_HINT}")
    if transcode_result.rc != 0:
        blocked("FF-TRANSCODE", "there is no clip to send through the stack")
    clip = establish(lambda: tools.read_file(idle_run.container, transcode_result.path))
    # A stack coming up loads the machine: not while RUN-DOCKER-HEALTHY is timing the app.
    lab.health_settled(health_bound_s(contract) + HEALTH_SLACK_S)
    spec = StackSpec(
        command,
        conformance.compose_files() or [],
        f"conformance-{lab.session_id}-full",
        full.compose_profile,
        _stack_env(contract, conformance.image),
        lab.labels,
    )
    stack = Stack(spec, lab.client, tmp_path)
    problem = passed = ""
    try:
        passed = _one_job(stack, clip, idle_run, run_tool, contract)
    except StackError as exc:
        problem = str(exc)
    finally:
        try:
            left = stack.down()
        except StackError as exc:
            left = [str(exc)]
    if left:
        problem = "; ".join(filter(None, [problem, f"left behind: {', '.join(left)}"]))
    check.expect(
        not problem,
        problem or f"{passed}; nothing left after down",
        f"profile {full.compose_profile!r} healthy within {full.up_timeout_s:g} s, a job that "
        "waits for a worker and is done by one, its row in the database, its file served "
        "by a restarted API, nothing left after `down -v`",
        f"make the compose file's {full.compose_profile!r} profile run the image as API and "
        f"workers ([full_stack] in the profile names its services)",
    )
