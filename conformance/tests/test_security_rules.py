"""The SEC checks' rules and the canary key's plumbing, on values alone (no Docker)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from conformance.catalogue import CHECKS
from conformance.checks.test_browser import session_storage_script, settings_from
from conformance.checks.test_deploy import key_problems
from conformance.checks.test_logs import canary_secrets, traffic_paths
from conformance.checks.test_security import frames_refused, header_problems, retry_after_ok
from conformance.credentials import MADE_UP_ID, auth_headers, concrete, key_env, revoked
from conformance.deviations import deviations
from conformance.profile import ProfileError, load_profile
from conformance.variants import specs

KEY = "conformance-canary-api-key-0000000000000000"


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fork.toml"
    path.write_text(text)
    return path


def test_every_container_gets_the_key_and_every_request_presents_it() -> None:
    profile = load_profile(None)
    assert key_env(profile) == {"API_KEYS": KEY}
    assert auth_headers(profile) == {"Authorization": f"Bearer {KEY}"}
    for name, spec in specs(profile, None).items():
        assert spec.environment["API_KEYS"] == KEY, name
    assert specs(profile, None)["rate_limit"].environment["RATE_LIMIT_GENERATIONS"] == "3/minute"
    assert "RATE_LIMIT_GENERATIONS" not in specs(profile, None)["app"].environment
    assert canary_secrets(profile)["API_KEYS"] == KEY
    assert "/api/v1/jobs" in traffic_paths(profile)  # the key is presented to the secrets one
    assert settings_from(profile).session_storage == {"ai-video.apiKey": KEY}


def test_a_fork_without_auth_configures_and_sends_no_key(tmp_path: Path) -> None:
    profile = load_profile(
        _profile(tmp_path, '[security]\nrequired = false\nreason = "an ALB with OIDC"\n'),
        set(CHECKS),
    )
    assert key_env(profile) == {} and auth_headers(profile) == {}
    assert all("API_KEYS" not in spec.environment for spec in specs(profile, None).values())
    assert "API_KEYS" not in canary_secrets(profile)
    assert settings_from(profile).session_storage == {}
    assert profile.switched_off["security"][1] == ("SEC-AUTH", "SEC-HEADERS", "SEC-RATE-LIMIT")
    assert profile.waivers["SEC-AUTH"] == "[security] required = false: an ALB with OIDC"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[security]\nprotected_routes = ["/api/v1/jobs"]\n', "route '/api/v1/jobs' is not"),
        ('[security]\npublic_routes = ["FETCH /health"]\n', "route 'FETCH /health' is not"),
        ('[security]\nrate_limit_route = "POST api/v1/x"\n', "route 'POST api/v1/x' is not"),
        ('[security]\nheaders = { "Referrer-Policy" = "(" }\n', "headers.Referrer-Policy: not a"),
        ("[security]\nrate_limit_burst = 1\n", "rate_limit_burst must be at least 2"),
        ('[security]\napi_key = ""\n', "security.api_key and security.api_keys_env must be set"),
        ("[security]\nrequired = false\n", "[security] required = false needs a written reason"),
    ],
)
def test_bad_security_settings_are_one_line_errors(text: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=re.escape(reason)) as caught:
        load_profile(_profile(tmp_path, text), set(CHECKS))
    assert "\n" not in str(caught.value)


def test_the_canary_key_is_no_deviation_but_its_variable_is(tmp_path: Path) -> None:
    profile = load_profile(
        _profile(tmp_path, '[security]\napi_key = "sk_live_canary"\napi_keys_env = "KEYS"\n')
    )
    assert [d["key"] for d in deviations(profile)] == ["security.api_keys_env"]


def test_a_revoked_key_is_shaped_like_the_key_and_is_not_it() -> None:
    wrong = revoked(KEY)
    assert wrong != KEY and len(wrong) == len(KEY)
    assert re.fullmatch(r"[a-z-]+-[0-9]+", wrong)
    assert revoked("zZ9-") == "aA0-"
    assert concrete("/api/v1/jobs/{id}/file") == f"/api/v1/jobs/{MADE_UP_ID}/file"


def _response(headers: dict[str, str] | list[tuple[str, str]], kind: str) -> httpx.Response:
    items = list(headers.items()) if isinstance(headers, dict) else headers
    return httpx.Response(200, headers=[("content-type", kind), *items])


RULES = {"X-Content-Type-Options": "^nosniff$", "Referrer-Policy": "^no-referrer$"}
GOOD = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


def test_headers_are_matched_and_pages_must_refuse_framing() -> None:
    assert header_problems(_response(GOOD, "text/html"), "/", RULES) == []
    lax = {**GOOD, "X-Content-Type-Options": "sniff-away"}
    assert header_problems(_response(lax, "application/json"), "/p", RULES) == [
        "/p: X-Content-Type-Options: 'sniff-away'"
    ]
    framable = {**GOOD, "Content-Security-Policy": "default-src 'self'; frame-ancestors *"}
    assert header_problems(_response(framable, "application/json"), "/p", RULES) == []
    assert (
        "/: a page that may be framed"
        in header_problems(_response(framable, "text/html; charset=utf-8"), "/", RULES)[0]
    )
    assert header_problems(_response({**GOOD, "Server": "uvicorn"}, "text/html"), "/", RULES) == [
        "/: Server: 'uvicorn'"
    ]
    missing = {"Referrer-Policy": "no-referrer"}
    assert header_problems(_response(missing, "application/json"), "/p", RULES) == [
        "/p: no X-Content-Type-Options"
    ]


def test_framing_is_refused_by_csp_none_or_x_frame_options_deny() -> None:
    def refused(headers: list[tuple[str, str]]) -> bool:
        return frames_refused(_response(headers, "text/html"))

    assert refused([("content-security-policy", "Frame-Ancestors 'NONE'")])
    assert refused([("x-frame-options", "deny")])
    assert not refused([("content-security-policy", "frame-ancestors 'none' 'self'")])
    assert not refused([("content-security-policy", "default-src 'none'")])
    assert not refused([("x-frame-options", "SAMEORIGIN")])
    # two policies are both enforced: one refusing is enough
    assert refused(
        [
            ("content-security-policy", "default-src 'self'"),
            ("content-security-policy", "frame-ancestors 'none'"),
        ]
    )


def test_retry_after_is_seconds_or_an_http_date() -> None:
    assert retry_after_ok("60") and retry_after_ok(" 0 ")
    assert retry_after_ok("Wed, 21 Oct 2015 07:28:00 GMT")
    assert not retry_after_ok(None) and not retry_after_ok("")
    assert not retry_after_ok("-1") and not retry_after_ok("1.5") and not retry_after_ok("soon")


def test_the_task_definition_gives_the_keys_from_secrets_only(tmp_path: Path) -> None:
    profile = load_profile(None)
    secret = {"name": "API_KEYS", "valueFrom": "arn:aws:secretsmanager:r:1:secret:k"}
    assert key_problems({"secrets": [secret]}, profile) == []
    plain = {"environment": [{"name": "API_KEYS", "value": "k"}], "secrets": [secret]}
    assert key_problems(plain, profile) == [
        "API_KEYS in plain environment (it must come from secrets)"
    ]
    assert key_problems({"secrets": []}, profile) == [
        "API_KEYS not given from secrets (a production task needs its keys)"
    ]
    off = load_profile(_profile(tmp_path, '[security]\nrequired = false\nreason = "ALB"\n'))
    assert key_problems({}, off) == []
    assert key_problems({"environment": [{"name": "API_KEYS", "value": "k"}]}, off) != []


def test_the_session_storage_script_sets_each_item_as_a_string() -> None:
    script = session_storage_script({"ai-video.apiKey": 'k"</script>'})
    assert script == 'sessionStorage.setItem("ai-video.apiKey", "k\\"</script>");'
