"""RUN: lifecycle and health timing of the app container and its variants."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from conformance.container import HealthWatch, Started, last_log_lines
from conformance.fixtures import (
    StopResult,
    api_client,
    establish,
    health_bound_s,
    health_deadline_s,
    run_transcode,
)
from conformance.probes import tools
from conformance.probes.tools import ToolRun
from conformance.profile import Profile
from conformance.verdict import Check, blocked


@pytest.mark.check("RUN-STARTS")
def test_stays_up(app_start: Started, contract: Profile, check: Check) -> None:
    want = contract.runtime.stays_up_s
    fix = 'run the server in the foreground as PID 1 (`CMD ["python", "-m", "app"]`); read the logs'
    if app_start.start_error is not None:
        check.fail(f"did not start: {app_start.start_error}", f"running for {want:g} s", fix)
    exited = app_start.wait_exit(app_start.started_at + want - time.monotonic())
    up = time.monotonic() - app_start.started_at
    if exited:
        app_start.container.reload()
        state = app_start.container.attrs["State"]
        check.fail(
            f"exited with code {state['ExitCode']} (OOM killed: {state['OOMKilled']}); last "
            "log lines: "
            f"{last_log_lines(app_start.container, 5)}",
            f"still running after {want:g} s",
            fix,
        )
    restarts = int(app_start.container.attrs.get("RestartCount") or 0)
    check.expect(
        restarts == 0, f"up {up:.1f} s, {restarts} restarts", f"up ≥ {want:g} s, no restarts", fix
    )


@pytest.mark.check("RUN-READY")
def test_ready_within_start_period(app_start: Started, contract: Profile, check: Check) -> None:
    if app_start.start_error is not None:
        blocked("RUN-STARTS", f"the container did not start: {app_start.start_error}")
    if app_start.exit_code is not None:
        blocked(
            "RUN-STARTS", f"the container exited with code {app_start.exit_code} before serving"
        )
    want = contract.runtime.ready_max_s
    fix = "start faster: precompile bytecode, import lazily, do no network calls before serving"
    if app_start.ready_after_s is None:
        problem = str(app_start.problem)
        if "listens on TCP port" in problem or "nothing answers on that port" in problem:
            fix = (
                f"serve on port {contract.image.port} (or set image.port to the port the "
                "server listens on)"
            )
        elif "answered HTTP" in problem:
            fix = f"answer {contract.runtime.health_path} with 200 once the app can serve"
        check.fail(problem, f"200 from {contract.runtime.health_path} ≤ {want:g} s", fix)
    check.expect(
        app_start.ready_after_s <= want,
        f"first 200 after {app_start.ready_after_s:.2f} s",
        f"≤ {want:g} s from docker run",
        fix,
    )


@pytest.mark.check("RUN-HEALTH-BODY")
def test_health_body(http: httpx.Client, contract: Profile, check: Check) -> None:
    rt = contract.runtime
    response = http.get(rt.health_path)
    try:
        body = response.json()
    except ValueError:
        body = None
    measured = f"HTTP {response.status_code} {response.text[:160]}"
    if rt.health_body_schema:  # a fork's looser rule, validated by jsonschema
        problem = schema_problem(body, rt.health_body_schema)
        check.expect(
            response.status_code == 200 and problem is None,
            measured + (f" ({problem})" if problem else ""),
            "200 with a body matching runtime.health_body_schema",
            f"answer {rt.health_path} with a body that matches the profile's schema",
        )
        return
    check.expect(
        response.status_code == 200 and body == rt.health_body,
        measured,
        f"200 with exactly {json.dumps(rt.health_body)}",
        f"answer {rt.health_path} with exactly this JSON body (or describe a looser rule in "
        "runtime.health_body_schema)",
    )


def schema_problem(body: Any, schema: dict[str, Any]) -> str | None:
    """Why the body does not match the JSON Schema, or None when it does."""
    import jsonschema

    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as exc:
        return f"schema: {exc.message}"
    except jsonschema.SchemaError as exc:
        return f"runtime.health_body_schema is not a valid JSON Schema: {exc.message}"
    return None


def _run_healthcheck(started: Started, argv: list[str], timeout_s: float) -> tuple[int | None, str]:
    """The image's own probe, run as the image's user in a running container."""
    result = establish(lambda: tools.run(started.container, argv, timeout_s=timeout_s))
    return result.rc, result.why() if not result.ok else result.stdout


@pytest.mark.check("RUN-HEALTHCHECK-CMD")
def test_healthcheck_command_succeeds(
    app: Started, healthcheck_test: list[str], healthcheck_timeout_s: float, check: Check
) -> None:
    rc, output = _run_healthcheck(app, healthcheck_test, healthcheck_timeout_s)
    check.expect(
        rc == 0,
        f"`{' '.join(healthcheck_test)}` exited {rc}: {output.strip()[:160]}",
        f"exit 0 within {healthcheck_timeout_s:g} s",
        "use a probe whose binary is in the image (e.g. `python -m app.healthcheck`; curl is "
        "not in slim images)",
    )


@pytest.mark.check("RUN-HEALTHCHECK-REAL")
def test_healthcheck_fails_without_server(
    idle: Started,
    healthcheck_test: list[str],
    healthcheck_timeout_s: float,
    check: Check,
) -> None:
    rc, output = _run_healthcheck(idle, healthcheck_test, healthcheck_timeout_s)
    check.expect(
        rc != 0,
        f"with no server running, `{' '.join(healthcheck_test)}` exited {rc}: "
        f"{output.strip()[:120]}",
        "a non-zero exit",
        "make the probe request the health endpoint and fail unless it answers healthy",
    )


@pytest.mark.check("RUN-DOCKER-HEALTHY")
def test_docker_reports_healthy(
    docker_health: HealthWatch,
    image_config: dict[str, Any],
    healthcheck_test: list[str],
    contract: Profile,
    check: Check,
) -> None:
    health = image_config.get("Healthcheck") or {}
    declared = health_deadline_s(health)
    bound = health_bound_s(contract)
    deadline = min(declared, bound)
    last = (docker_health.log or [{}])[-1]
    check.expect(
        docker_health.status == "healthy" and (docker_health.after_s or 1e9) <= deadline,
        f"{docker_health.status} after {docker_health.after_s or 0:.1f} s"
        + (
            ""
            if docker_health.status == "healthy"
            else f"; last probe: {str(last.get('Output', '')).strip()[:160]}"
        ),
        f"healthy ≤ {deadline:g} s (start-period + interval + timeout"
        + (
            f"; the image declares {declared:g} s, the contract allows at most {bound:g} s)"
            if declared > bound
            else ")"
        ),
        "make the HEALTHCHECK command pass for as long as the app serves"
        + (
            f", with an interval ≤ {contract.image.healthcheck_max_interval_s:g} s (the image "
            f"declares {health.get('Interval', 0) / 1e9:g} s)"
            if declared > bound
            else ""
        ),
    )


# The overall states /health/detailed may report (docs/service.md).
DETAILED_STATES = ("healthy", "degraded")


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def detailed_problems(body: Any, components: list[str]) -> list[str]:
    """What is wrong with a /health/detailed body, [] when nothing is. Each configured
    component is either `components.<name>`, an object with a boolean `ok`, or a
    top-level `<name>` holding one boolean per item (how `integrations` is reported);
    the overall `status` is one of DETAILED_STATES and never healthy while a
    component is not ok."""
    if not isinstance(body, dict):
        return [f"the body is {_shown(body)}, not a JSON object"]
    problems = []
    status = body.get("status")
    if status not in DETAILED_STATES:
        problems.append(f"status {_shown(status)} is not one of {', '.join(DETAILED_STATES)}")
    reported = body.get("components")
    reported = reported if isinstance(reported, dict) else {}
    for name in components:
        entry, flags = reported.get(name), body.get(name)
        if isinstance(entry, dict) and isinstance(entry.get("ok"), bool):
            continue
        if isinstance(flags, dict) and flags and all(isinstance(v, bool) for v in flags.values()):
            continue
        if name in reported:
            problems.append(f"components.{name} is {_shown(entry)}")
        else:
            problems.append(f"{name} is {_shown(flags)}" if name in body else f"no {name}")
    failing = sorted(
        name
        for name, entry in reported.items()
        if isinstance(entry, dict) and entry.get("ok") is False
    )
    if status == "healthy" and failing:
        problems.append(f"status healthy while {', '.join(failing)} not ok")
    return problems


@pytest.mark.check("RUN-DETAILED")
def test_health_detailed(http: httpx.Client, contract: Profile, check: Check) -> None:
    rt = contract.runtime
    response = http.get(rt.detailed_path)
    try:
        body = response.json()
    except ValueError:
        body = None
    problems = detailed_problems(body, rt.detailed_components)
    check.expect(
        response.status_code == 200 and not problems,
        f"HTTP {response.status_code}, "
        + (
            "; ".join(problems)
            if problems
            else f"{len(rt.detailed_components)} components, status {body.get('status')}"
        ),
        f"200 JSON with status {' or '.join(DETAILED_STATES)} and, for each of "
        f"{', '.join(rt.detailed_components)}, components.<name> with a boolean ok (or a "
        "top-level table of booleans, as integrations)",
        f"report every component in {rt.detailed_path} with its state "
        '(`"components": {"ffmpeg": {"ok": true, ...}}`), and say degraded when one is not ok',
    )


@pytest.mark.check("RUN-LATENCY")
def test_health_latency(http: httpx.Client, contract: Profile, check: Check) -> None:
    path, n = contract.runtime.health_path, contract.runtime.latency_requests
    for _ in range(5):
        http.get(path)  # warm the connection
    samples = []
    # A fast wrong answer is not a fast health answer: every timed one must be a 200.
    statuses: Counter[int] = Counter()
    for _ in range(n):
        t0 = time.perf_counter()
        statuses[http.get(path).status_code] += 1
        samples.append((time.perf_counter() - t0) * 1000)
    p95 = statistics.quantiles(samples, n=20)[-1]
    wrong = {code: count for code, count in sorted(statuses.items()) if code != 200}
    answers = ", ".join(f"HTTP {code}: {count}" for code, count in wrong.items())
    check.expect(
        not wrong and p95 <= contract.runtime.latency_p95_ms,
        f"p95 {p95:.1f} ms over {n} requests, "
        + (f"{sum(wrong.values())} not 200 ({answers})" if wrong else "all 200"),
        f"≤ {contract.runtime.latency_p95_ms:g} ms, every answer 200",
        f"answer {path} with 200 to back-to-back requests too (no rate limit or overload "
        "shedding on it)"
        if wrong
        else f"keep {path} constant-time: no I/O, no subprocesses, no locks",
    )


@pytest.mark.check("RUN-GRACEFUL-STOP")
def test_graceful_stop(stopped_app: StopResult, contract: Profile, check: Check) -> None:
    check.expect(
        stopped_app.exit_code == 0 and stopped_app.duration_s <= contract.runtime.stop_max_s,
        f"exit {stopped_app.exit_code} after {stopped_app.duration_s:.1f} s",
        f"exit 0 ≤ {contract.runtime.stop_max_s:g} s (grace {contract.runtime.stop_grace_s:g} s)",
        "exec-form CMD so PID 1 is the server, and handle SIGTERM by shutting down with exit 0",
    )


def _serves(started: Started, path: str, contract: Profile) -> tuple[bool, str]:
    if started.ready_after_s is None:
        return False, str(started.problem)
    with api_client(started.base_url, contract) as client:
        response = client.get(path)
    return response.status_code == 200, f"{path} → HTTP {response.status_code}"


@pytest.mark.check("RUN-HARDENED")
def test_hardened(hardened_run: Started, contract: Profile, check: Check) -> None:
    ok, detail = _serves(hardened_run, contract.runtime.ping_path, contract)
    check.expect(
        ok,
        (f"ready after {hardened_run.ready_after_s:.1f} s, " if hardened_run.ready_after_s else "")
        + detail,
        f"serves with --read-only (tmpfs {', '.join(contract.runtime.hardened_tmpfs)}), "
        "--cap-drop ALL, "
        "no-new-privileges",
        "write only to the data directories (tmpfs in production), need no capabilities",
    )


@pytest.mark.check("RUN-MIN-RESOURCES")
def test_min_resources(
    min_resources_run: Started,
    contract: Profile,
    check: Check,
    request: pytest.FixtureRequest,
) -> None:
    rt = contract.runtime
    expected = f"serves and transcodes with {rt.min_cpus:g} CPU / {rt.min_memory_mb} MB"
    fix = "lower the memory use at start-up (fewer workers, lazy imports) and during encoding"
    ok, detail = _serves(min_resources_run, rt.health_path, contract)
    if not ok:
        state = min_resources_run.container.attrs["State"]
        check.fail(f"{detail} (OOM killed: {state.get('OOMKilled')})", expected, fix)
    if not contract.ffmpeg.required:  # no FFmpeg in this image: serving is the whole rule
        check.record(f"ready after {min_resources_run.ready_after_s:.1f} s", expected)
        return
    request.getfixturevalue("ffmpeg_ready")

    def run(argv: list[str], timeout_s: float = 120.0) -> ToolRun:
        return establish(
            lambda: tools.run(min_resources_run.container, argv, contract.image.user, timeout_s)
        )

    result = run_transcode(run, contract, "minres")
    if result.rc != 0:
        baseline = request.getfixturevalue("transcode_result")
        if baseline.rc != 0:
            blocked("FF-TRANSCODE", "the clip does not transcode even without limits")
    min_resources_run.container.reload()
    oom = min_resources_run.container.attrs["State"].get("OOMKilled")
    check.expect(
        result.rc == 0 and not oom,
        f"ready after {min_resources_run.ready_after_s:.1f} s, transcode exit {result.rc} in "
        f"{result.seconds:.1f} s",
        expected,
        fix,
    )


@pytest.mark.check("RUN-BAD-CONFIG")
def test_bad_config_fails_fast(bad_config_run: Started, contract: Profile, check: Check) -> None:
    rt = contract.runtime
    given = " ".join(f"{k}={v}" for k, v in rt.bad_config_env.items())
    fix = (
        "validate settings before starting the server; print one line naming the bad variable "
        "and exit non-zero"
    )
    if bad_config_run.exit_code is None:
        check.fail(
            f"with {given} still running after {rt.bad_config_timeout_s:g} s",
            f"a non-zero exit within {rt.bad_config_timeout_s:g} s",
            fix,
        )
    lines = [line for line in bad_config_run.logs().splitlines() if line.strip()]
    traceback = any("Traceback" in line for line in lines)
    check.expect(
        bad_config_run.exit_code != 0
        and 1 <= len(lines) <= rt.bad_config_max_lines
        and not traceback,
        f"with {given}: exit {bad_config_run.exit_code} after "
        f"{bad_config_run.exited_after_s:.1f} s, "
        f"{len(lines)} log lines{' with a traceback' if traceback else ''}: "
        f"{' / '.join(lines)[:200]}",
        f"non-zero exit, 1..{rt.bad_config_max_lines} lines, no traceback",
        fix,
    )
