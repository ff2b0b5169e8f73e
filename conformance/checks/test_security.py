"""SEC: the API asks for a key, answers carry security headers, bursts are limited.

Every container of the suite is given the profile's canary key (security.api_key in
security.api_keys_env) and every other request of the suite presents it; only these
checks send requests without it, or with a key that is not configured."""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any

import httpx
import pytest

from conformance.container import Started
from conformance.credentials import bearer, concrete, revoked
from conformance.fixtures import api_client
from conformance.profile import Profile, parse_route
from conformance.schema import named
from conformance.verdict import Check, blocked

HTML = {"Accept": "text/html,application/xhtml+xml"}
WITH_BODY = ("POST", "PUT", "PATCH")
REFUSED = (401, 403)


def _route(entry: str) -> tuple[str, str]:
    route = parse_route(entry)
    assert route is not None, f"the profile loader lets no malformed route through: {entry!r}"
    return route


def _request(
    client: httpx.Client, entry: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    """One request to a profile route: a made-up value for each {name}, and a JSON
    body (``{}`` unless given) for methods that take one; the answer to it is what
    the checks judge, so a request that cannot be made is an error, not a finding."""
    method, path = _route(entry)
    payload = ({} if body is None else body) if method in WITH_BODY else None
    try:
        return client.request(method, concrete(path), headers=headers, json=payload)
    except httpx.HTTPError as exc:
        pytest.fail(
            f"could not establish the fact: {entry} got no answer ({exc.__class__.__name__}: "
            f"{exc})",
            pytrace=False,
        )


def _is_json(response: httpx.Response) -> bool:
    if "json" not in response.headers.get("content-type", ""):
        return False
    try:
        response.json()
    except ValueError:
        return False
    return True


def _answer(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "no type").split(";")[0]
    return f"{response.status_code} {kind}"


def auth_problems(base_url: str, contract: Profile) -> tuple[list[str], int]:
    """What is wrong with the routes' access rules, and how many requests were sent."""
    sec = contract.security
    others = {"without a key": {}, "with a revoked key": bearer(revoked(sec.api_key))}
    problems, sent = [], 0
    with httpx.Client(base_url=base_url, timeout=10.0, trust_env=False) as client:
        for entry in sec.protected_routes:
            for label, headers in others.items():
                response = _request(client, entry, headers)
                sent += 1
                if response.status_code != 401 or not _is_json(response):
                    problems.append(f"{entry} {label} → {_answer(response)}")
                elif not response.headers.get("www-authenticate", "").strip():
                    # RFC 9110 §11.6.1: a 401 carries at least one challenge.
                    problems.append(f"{entry} {label} → 401 without WWW-Authenticate")
            response = _request(client, entry, bearer(sec.api_key))
            sent += 1
            if response.status_code in REFUSED:
                problems.append(f"{entry} with the configured key → {response.status_code}")
        for entry in sec.public_routes:
            response = _request(client, entry, HTML)
            sent += 1
            if response.status_code in REFUSED:
                problems.append(f"{entry} without a key → {response.status_code}")
    return problems, sent


@pytest.mark.check("SEC-AUTH")
def test_api_needs_a_key(app: Started, contract: Profile, check: Check) -> None:
    sec = contract.security
    problems, sent = auth_problems(app.base_url, contract)
    check.expect(
        not problems,
        named(problems, 1)
        if problems
        else f"{len(sec.protected_routes)} protected routes 401 JSON without a key and with "
        f"a revoked one, open with the key; {len(sec.public_routes)} public routes open "
        f"({sent} requests)",
        f"401 with a JSON body and a WWW-Authenticate challenge for each of "
        f"security.protected_routes without "
        f"`Authorization: Bearer <key>` or with a key not in {sec.api_keys_env}; neither "
        "401 nor 403 with the configured key; security.public_routes open without one",
        f"check `Authorization: Bearer <key>` against the keys in {sec.api_keys_env} (in "
        "constant time) on every API route but the public ones, and answer 401 with a JSON "
        "error and `WWW-Authenticate: Bearer` when it is missing or unknown",
    )


def frames_refused(response: httpx.Response) -> bool:
    """Whether the answer forbids every framing: a Content-Security-Policy whose
    frame-ancestors is 'none', or X-Frame-Options DENY (for browsers without CSP 2)."""
    for policy in response.headers.get_list("content-security-policy"):
        for directive in policy.split(";"):
            name, *sources = directive.split()
            if name.lower() == "frame-ancestors" and [s.lower() for s in sources] == ["'none'"]:
                return True
    return response.headers.get("x-frame-options", "").strip().upper() == "DENY"


def header_problems(response: httpx.Response, path: str, rules: dict[str, str]) -> list[str]:
    """What one answer lacks: each header of ``rules`` matching its regex, a refusal to
    be framed when it is a page, no Server header naming the software behind it."""
    problems = []
    for name, pattern in rules.items():
        value = response.headers.get(name)
        if value is None:
            problems.append(f"{path}: no {name}")
        elif not re.search(pattern, value):
            problems.append(f"{path}: {name}: {value!r}")
    page = response.headers.get("content-type", "").startswith("text/html")
    if page and not frames_refused(response):
        policy = response.headers.get("content-security-policy")
        problems.append(f"{path}: a page that may be framed (CSP {policy!r})")
    server = response.headers.get("server")
    if server is not None and server.strip():
        problems.append(f"{path}: Server: {server!r}")
    return problems


@pytest.mark.check("SEC-HEADERS")
def test_security_headers(http: httpx.Client, contract: Profile, check: Check) -> None:
    sec = contract.security
    problems = []
    for path in sec.header_paths:
        response = http.get(path, headers=HTML)
        problems += header_problems(response, path, sec.headers)
    check.expect(
        not problems,
        named(problems, 2) if problems else f"{', '.join(sec.header_paths)}: every header set",
        f"on {', '.join(sec.header_paths)}: {', '.join(sec.headers)} as security.headers "
        "says; on pages a Content-Security-Policy with frame-ancestors 'none' (or "
        "X-Frame-Options: DENY); no Server header",
        "add the headers to every response in one middleware (Content-Security-Policy with "
        "frame-ancestors 'none', X-Content-Type-Options: nosniff, Referrer-Policy: "
        "no-referrer) and turn the server's own header off (uvicorn --no-server-header)",
    )


def retry_after_ok(value: str | None) -> bool:
    """Retry-After as RFC 9110 has it: a number of seconds, or an HTTP date."""
    if value is None:
        return False
    value = value.strip()
    if value.isdigit():
        return True
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


@pytest.mark.check("SEC-RATE-LIMIT")
def test_rate_limit(rate_limit_run: Started, contract: Profile, check: Check) -> None:
    sec = contract.security
    given = " ".join(f"{k}={v}" for k, v in sec.rate_limit_env.items())
    expected = (
        f"with {given}: the first of {sec.rate_limit_burst} back-to-back "
        f"{sec.rate_limit_route} not 429, a later one 429 with Retry-After (seconds or an "
        f"HTTP date), within {sec.rate_limit_timeout_s:g} s"
    )
    fix = (
        f"limit {sec.rate_limit_route} per key, as {', '.join(sec.rate_limit_env)} "
        "configures, and answer 429 with Retry-After past the limit"
    )
    if rate_limit_run.ready_after_s is None:
        check.fail(f"with {given} the app did not serve: {rate_limit_run.problem}", expected, fix)
    statuses: list[int] = []
    limited: httpx.Response | None = None
    deadline = time.monotonic() + sec.rate_limit_timeout_s
    with api_client(rate_limit_run.base_url, contract) as client:
        while len(statuses) < sec.rate_limit_burst and time.monotonic() < deadline:
            client.timeout = httpx.Timeout(max(0.1, deadline - time.monotonic()))
            response = _request(client, sec.rate_limit_route, {}, sec.rate_limit_body)
            statuses.append(response.status_code)
            if response.status_code == 429:
                limited = response
                break
    before = statuses[:-1] if limited is not None else statuses
    if any(status in REFUSED for status in before):
        blocked("SEC-AUTH", f"{sec.rate_limit_route} refused the configured key: {statuses}")
    seen = ", ".join(map(str, statuses))
    retry_after = limited.headers.get("retry-after") if limited is not None else None
    if limited is not None:
        measured = f"HTTP {seen}; Retry-After: {retry_after!r}"
    elif len(statuses) < sec.rate_limit_burst:
        measured = f"HTTP {seen}; no 429 ({len(statuses)} requests in the time bound)"
    else:
        measured = f"HTTP {seen}; no 429"
    check.expect(
        limited is not None and len(statuses) > 1 and retry_after_ok(retry_after),
        measured,
        expected,
        fix,
    )
