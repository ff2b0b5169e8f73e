"""LOG: the app container's logs over start-up, the suite's traffic and a graceful stop."""

from __future__ import annotations

import contextlib
import re

import docker.errors
import httpx
import pytest

from conformance.container import Started
from conformance.credentials import key_env
from conformance.fixtures import StopResult, api_client
from conformance.profile import Profile, parse_route
from conformance.verdict import Check

LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b")
# A level is an upper-case word (ERROR), or a word in any case followed by a colon, as
# tools print it ("error: ...", "Warning: ..."); "Error while closing" at INFO is not one.
BAD = re.compile(
    r"\b(ERROR|CRITICAL|FATAL)\b"
    r"|\b(?i:error|critical|fatal)\s*:"
    r"|Traceback \(most recent call last\)"
)
WARNING = re.compile(r"\bWARN(ING)?\b|\b(?i:warn|warning)\s*:")


def unclean(line: str, allow: list[re.Pattern[str]]) -> bool:
    """An error or traceback line, or a warning no allowlist regex accepts."""
    if BAD.search(line):
        return True
    return bool(WARNING.search(line)) and not any(a.search(line) for a in allow)


LOG_FILE = re.compile(r"(\.log(\.\d+)?$|/logs?/)")


@pytest.mark.check("LOG-CLEAN")
def test_logs_clean(stopped_app: StopResult, contract: Profile, check: Check) -> None:
    allow = [re.compile(p) for p in contract.logs.warning_allowlist]
    bad = [line for line in stopped_app.logs.splitlines() if unclean(line, allow)]
    check.expect(
        not bad,
        f"{len(bad)} lines, first: {bad[0].strip()[:200]}"
        if bad
        else "no error, traceback or warning lines",
        "no ERROR/CRITICAL lines, no tracebacks, no WARNING outside logs.warning_allowlist",
        "fix the cause of the logged problem (or allowlist an expected warning in the profile)",
    )


@pytest.mark.check("LOG-STDOUT")
def test_logs_to_stdout(app: Started, stopped_app: StopResult, check: Check) -> None:
    changes = app.container.diff() or []
    files = sorted(
        {
            c["Path"]
            for c in changes
            if LOG_FILE.search(c["Path"]) and "conformance-" not in c["Path"]
        }
    )
    check.expect(
        not files,
        f"log files written: {', '.join(files[:5])}" if files else "no log files written",
        "logs only on stdout/stderr",
        "log with a StreamHandler to stdout; let the container runtime collect it",
    )


def traffic_paths(contract: Profile) -> list[str]:
    """Health, detailed health, the API ping and the protected routes a plain GET
    reaches (the job list): requests that present the canary key."""
    rt = contract.runtime
    protected = [
        route[1]
        for entry in (contract.security.protected_routes if contract.security.required else [])
        if (route := parse_route(entry)) and route[0] == "GET" and "{" not in route[1]
    ]
    return [rt.health_path, rt.detailed_path, rt.ping_path, *protected]


def logs_after_traffic(started: Started, contract: Profile) -> str:
    """A variant's logs over start-up, some traffic (traffic_paths) and a graceful stop."""
    rt = contract.runtime
    if started.ready_after_s is not None:
        with api_client(started.base_url, contract) as client:
            for path in traffic_paths(contract):
                with contextlib.suppress(httpx.HTTPError):
                    client.get(path)
    with contextlib.suppress(docker.errors.APIError):
        started.container.stop(timeout=int(rt.stop_grace_s))
    return started.logs()


@pytest.fixture(scope="session")
def secrets_logs(secrets_run: Started, contract: Profile) -> str:
    """The logs of the container given the canary secrets."""
    return logs_after_traffic(secrets_run, contract)


@pytest.fixture(scope="session")
def quiet_logs(quiet_log_run: Started, contract: Profile) -> str:
    """The logs of the container started with LOG_LEVEL = logs.quiet_level."""
    return logs_after_traffic(quiet_log_run, contract)


def canary_secrets(contract: Profile) -> dict[str, str]:
    """Every secret value the secrets container is given: the profile's canaries and
    the API key (which every request to it presents, too)."""
    return {**contract.logs.run_secrets, **key_env(contract)}


@pytest.mark.check("LOG-NO-SECRETS")
def test_no_secrets_in_logs(secrets_logs: str, contract: Profile, check: Check) -> None:
    secrets = canary_secrets(contract)
    leaked = [name for name, value in secrets.items() if value and value in secrets_logs]
    check.expect(
        not leaked,
        f"values of {', '.join(leaked)} appear in the logs"
        if leaked
        else "no secret value in the logs",
        f"none of {', '.join(secrets)} printed (the API key is every container's; the "
        "others are given only to this check's container)",
        "never log settings or environment values; log whether a secret is configured, not "
        "its value",
    )


@pytest.mark.check("LOG-LEVEL")
def test_log_level_honoured(
    stopped_app: StopResult,
    quiet_log_run: Started,
    quiet_logs: str,
    contract: Profile,
    check: Check,
) -> None:
    quiet = contract.logs.quiet_level
    rank = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    below = set(rank[: rank.index(quiet)]) if quiet in rank else {"DEBUG", "INFO"}
    fix = "configure the root and uvicorn loggers from LOG_LEVEL"
    if quiet_log_run.ready_after_s is None:  # quiet and not serving proves nothing
        check.fail(
            f"with LOG_LEVEL={quiet} the app did not serve: {quiet_log_run.problem}",
            f"serves with LOG_LEVEL={quiet}",
            fix,
        )
    info_lines = [line for line in stopped_app.logs.splitlines() if re.search(r"\bINFO\b", line)]
    chatty = [
        line
        for line in quiet_logs.splitlines()
        if (m := LEVEL.search(line)) and m.group(1) in below
    ]
    check.expect(
        bool(info_lines) and not chatty,
        f"LOG_LEVEL=INFO: {len(info_lines)} INFO lines; LOG_LEVEL={quiet}: {len(chatty)} "
        "lines below it" + (f", e.g. {chatty[0].strip()[:120]}" if chatty else ""),
        f"INFO lines at INFO, none below {quiet} at {quiet} (start-up, traffic, stop)",
        fix,
    )
