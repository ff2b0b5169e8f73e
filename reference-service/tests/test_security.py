"""API keys, the production start-up rule, rate limits and security headers (app/security)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from app.api.routes import generations, jobs, videos
from app.core.config import Settings, describe_validation_error
from app.main import create_app
from app.security.api_keys import ApiKeyDigests
from app.security.auth import auth_required, authenticate
from app.security.headers import CONTENT_SECURITY_POLICY
from tests.conftest import LiveService, run_module, service_env

KEY_A = "test-key-a-0123456789abcdef0123456789"
KEY_B = "test-key-b-0123456789abcdef0123456789"
WRONG = "test-key-x-0123456789abcdef0123456789"
JOB_ID = "0" * 32

# Every route under /api/v1 but ping, with a body that would otherwise be accepted.
PROTECTED: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/videos", {"files": {"file": ("a.mp4", b"not a video", "video/mp4")}}),
    ("POST", "/api/v1/videos/compose", {"json": {"video_ids": [JOB_ID, JOB_ID]}}),
    ("GET", f"/api/v1/videos/{JOB_ID}", {}),
    ("GET", f"/api/v1/videos/{JOB_ID}/file", {}),
    ("GET", f"/api/v1/videos/{JOB_ID}/thumbnail", {}),
    ("POST", "/api/v1/generations", {"json": {"prompt": "a fox"}}),
    ("GET", f"/api/v1/generations/{JOB_ID}", {}),
    ("GET", "/api/v1/jobs", {}),
    ("GET", f"/api/v1/jobs/{JOB_ID}", {}),
    ("DELETE", f"/api/v1/jobs/{JOB_ID}", {}),
]
PUBLIC = ["/health", "/health/detailed", "/api/v1/ping", "/openapi.json", "/docs", "/"]
HTML = {"Accept": "text/html"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>app</title>")
    return root


@pytest.fixture
def open_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """A started app for the given settings (closed at the end of the test)."""
    opened: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        opened.append(client)
        return client

    yield start
    for client in opened:
        client.__exit__(None, None, None)


# --- the keys ---------------------------------------------------------------------------


def test_only_digests_are_kept() -> None:
    keys = ApiKeyDigests.parse(f" {KEY_A} ,, {KEY_B},{KEY_A}")
    assert len(keys) == 2
    assert keys.match(KEY_A) is not None and keys.match(KEY_B) is not None
    assert keys.match(KEY_A) != keys.match(KEY_B)
    for text in (repr(keys), str(keys)):
        assert KEY_A not in text and "2 keys" in text
    assert KEY_A.encode() not in b"".join(keys._digests)


@pytest.mark.parametrize(
    "value", [KEY_A, SecretStr(KEY_A), [KEY_A], [SecretStr(KEY_A)], ApiKeyDigests([KEY_A])]
)
def test_keys_parse_from_text_secret_or_list(value: object) -> None:
    assert ApiKeyDigests.parse(value).match(KEY_A) is not None


@pytest.mark.parametrize("presented", [WRONG, "", KEY_A[:-1], KEY_A + "x", "ключ-" + KEY_A])
def test_anything_but_a_configured_key_does_not_match(presented: str) -> None:
    assert ApiKeyDigests.parse(KEY_A).match(presented) is None


@pytest.mark.parametrize("value", [None, "", " , ", []])
def test_no_keys(value: object) -> None:
    assert not ApiKeyDigests.parse(value)


def test_settings_never_show_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", f"{KEY_A},{KEY_B}")
    settings = Settings()
    assert len(settings.api_keys) == 2
    for text in (repr(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert KEY_A not in text and KEY_B not in text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("short-secret-1", "key 1 is shorter than 16 characters"),
        (f"{KEY_A},with a blank in the key", "key 2 has a character other than printable ASCII"),
        (f"{KEY_A},ключ-0123456789abcdef", "key 2 has a character other than printable ASCII"),
    ],
)
def test_bad_keys_are_named_by_position_never_shown(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("API_KEYS", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = describe_validation_error(caught.value)
    assert line.startswith("API_KEYS=<hidden> ") and reason in line
    assert not any(key in line for key in value.split(","))


# --- the start-up rule ------------------------------------------------------------------


def test_production_without_keys_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = describe_validation_error(caught.value)
    assert "API_KEYS" in line and "AUTH_DISABLED" in line


@pytest.mark.parametrize(
    ("env", "required"),
    [
        ({"APP_ENV": "production", "API_KEYS": KEY_A}, True),
        ({"APP_ENV": "production", "AUTH_DISABLED": "true"}, False),
        ({"APP_ENV": "production", "API_KEYS": KEY_A, "AUTH_DISABLED": "true"}, False),
        ({"APP_ENV": "staging"}, False),
        ({"APP_ENV": "development"}, False),
        ({"APP_ENV": "development", "API_KEYS": KEY_A}, True),
    ],
)
def test_when_auth_is_on(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], required: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert auth_required(Settings()) is required


def test_production_without_keys_exits_with_one_line(tmp_path: Path) -> None:
    result = run_module("app", service_env(tmp_path, APP_ENV="production"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: AUTH_DISABLED=False ")
    assert "API_KEYS" in lines[0] and "AUTH_DISABLED=true" in lines[0]


def test_a_bad_key_stops_start_up_without_showing_it(tmp_path: Path) -> None:
    result = run_module("app", service_env(tmp_path, API_KEYS=f"{KEY_A},too-short"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configuration error: API_KEYS=<hidden> key 2 is shorter than 16 characters"
    ]
    assert KEY_A not in result.stderr + result.stdout


@pytest.mark.parametrize("value", ["lots", "3 per fortnight", "0/minute", ""])
def test_bad_rate_limits_are_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("RATE_LIMIT_UPLOADS", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_validation_error(caught.value) == (
        f"RATE_LIMIT_UPLOADS={value!r} is not a rate limit such as 30/minute or 100/hour"
    )


# --- authentication ---------------------------------------------------------------------


def _is_protected(route: APIRoute) -> bool:
    calls = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        calls.append(dependant.call)
        pending.extend(dependant.dependencies)
    return authenticate in calls


def test_every_api_route_but_ping_needs_a_key(make_settings: Callable[..., Settings]) -> None:
    # Every operation the app serves under /api/ (its OpenAPI document lists them all) is
    # one of PROTECTED, checked below, or ping.
    doc = TestClient(create_app(make_settings())).get("/openapi.json").json()
    served = {
        (method.upper(), path)
        for path, operations in doc["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    listed = {(method, re.sub(r"/0{32}", "/{job_id}", path)) for method, path, _ in PROTECTED}
    assert served == listed | {("GET", "/api/v1/ping")}
    # The job routers' routes all depend on authenticate, a route added later included.
    routes = [
        route
        for module in (videos, generations, jobs)
        for route in module.router.routes
        if isinstance(route, APIRoute)
    ]
    assert routes and all(_is_protected(route) for route in routes)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer(WRONG),
        {"Authorization": f"Basic {KEY_A}"},
        {"Authorization": "Bearer"},
        {"X-API-Key": KEY_A},
    ],
    ids=["none", "wrong-key", "basic", "empty", "other-header"],
)
def test_protected_routes_answer_401_without_a_valid_key(
    open_client: Callable[..., TestClient],
    method: str,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    client = open_client(api_keys=KEY_A)
    response = client.request(method, path, headers=headers, **body)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    payload = response.json()
    assert payload["code"] == "unauthorized" and set(payload) == {"detail", "code"}
    assert "Authorization" in payload["detail"] or "not valid" in payload["detail"]
    assert KEY_A not in response.text and WRONG not in response.text


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_a_valid_key_gets_through(
    open_client: Callable[..., TestClient], method: str, path: str, body: dict[str, Any]
) -> None:
    client = open_client(api_keys=f"{KEY_A},{KEY_B}")
    response = client.request(method, path, headers=bearer(KEY_B), **body)
    # Past authentication: the route's own answer (the job does not exist, the clip is
    # not a video, Replicate is not configured...).
    assert response.status_code in {200, 204, 404, 415, 422, 503}, response.text


def test_scheme_is_case_insensitive(open_client: Callable[..., TestClient]) -> None:
    client = open_client(api_keys=KEY_A)
    assert client.get("/api/v1/jobs", headers={"Authorization": f"bearer {KEY_A}"}).is_success


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_key(
    open_client: Callable[..., TestClient], dist: Path, path: str
) -> None:
    client = open_client(api_keys=KEY_A, static_dir=dist)
    assert client.get(path, headers=HTML).status_code == 200


def test_a_removed_key_is_refused_after_restart(open_client: Callable[..., TestClient]) -> None:
    before = open_client(api_keys=f"{KEY_A},{KEY_B}")
    assert before.get("/api/v1/jobs", headers=bearer(KEY_A)).status_code == 200
    after = open_client(api_keys=KEY_B)
    assert after.get("/api/v1/jobs", headers=bearer(KEY_A)).status_code == 401
    assert after.get("/api/v1/jobs", headers=bearer(KEY_B)).status_code == 200


@pytest.mark.parametrize("overrides", [{}, {"api_keys": KEY_A, "auth_disabled": True}])
def test_open_without_keys_or_when_disabled(
    open_client: Callable[..., TestClient], overrides: dict[str, Any]
) -> None:
    assert open_client(**overrides).get("/api/v1/jobs").status_code == 200


def test_keys_never_reach_the_log(
    open_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = open_client(api_keys=KEY_A)
    for key in (KEY_A, WRONG):
        client.get("/api/v1/jobs", headers=bearer(key))
        client.post("/api/v1/generations", headers=bearer(key), json={"prompt": "x"})
    assert "authentication on (1 keys)" in caplog.text
    assert KEY_A not in caplog.text and WRONG not in caplog.text


def test_keys_never_reach_the_service_log(
    live_service: Callable[..., LiveService], clips: dict[str, Path]
) -> None:
    service = live_service(API_KEYS=KEY_A, LOG_LEVEL="DEBUG", APP_ENV="production")
    with clips["mp4"].open("rb") as handle:
        uploaded = httpx.post(
            f"{service.url}/api/v1/videos",
            headers=bearer(KEY_A),
            files={"file": ("clip.mp4", handle, "video/mp4")},
            timeout=60,
        )
    assert uploaded.status_code == 202, uploaded.text
    assert httpx.get(f"{service.url}/api/v1/jobs", headers=bearer(WRONG)).status_code == 401
    response = httpx.get(f"{service.url}/api/v1/jobs", headers=bearer(KEY_A))
    assert response.status_code == 200
    assert "server" not in response.headers
    code, out, err = service.stop()
    assert code == 0
    assert "authentication on" in out
    assert KEY_A not in out + err and WRONG not in out + err


# --- rate limits ------------------------------------------------------------------------


def _generate(client: TestClient, key: str | None = KEY_A) -> httpx.Response:
    headers = bearer(key) if key else {}
    return client.post("/api/v1/generations", headers=headers, json={"prompt": "a fox"})


def test_past_the_limit_is_429_with_retry_after(open_client: Callable[..., TestClient]) -> None:
    client = open_client(api_keys=KEY_A, rate_limit_generations="3/minute")
    # No Replicate token here: the first three reach the route (503), the next do not.
    assert [_generate(client).status_code for _ in range(3)] == [503] * 3
    for _ in range(3):
        response = _generate(client)
        assert response.status_code == 429
        body = response.json()
        assert body["code"] == "rate_limited" and set(body) == {"detail", "code"}
        assert "3/minute" in body["detail"]
        assert 1 <= int(response.headers["retry-after"]) <= 60


def test_limits_count_per_key(open_client: Callable[..., TestClient]) -> None:
    client = open_client(api_keys=f"{KEY_A},{KEY_B}", rate_limit_generations="2/minute")
    assert [_generate(client, KEY_A).status_code for _ in range(3)] == [503, 503, 429]
    assert [_generate(client, KEY_B).status_code for _ in range(3)] == [503, 503, 429]
    # A request without a key is refused before it is counted.
    assert _generate(client, None).status_code == 401


def test_limits_count_per_address_without_auth(open_client: Callable[..., TestClient]) -> None:
    client = open_client(rate_limit_generations="2/minute")
    assert [_generate(client, None).status_code for _ in range(3)] == [503, 503, 429]


def test_uploads_are_limited_before_the_body_is_read(
    open_client: Callable[..., TestClient],
) -> None:
    client = open_client(rate_limit_uploads="1/minute")
    files = {"file": ("a.mp4", b"not a video", "video/mp4")}
    assert client.post("/api/v1/videos", files=files).status_code == 422
    refused = client.post("/api/v1/videos", files=files)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"


def test_compositions_have_their_own_limit(open_client: Callable[..., TestClient]) -> None:
    client = open_client(rate_limit_compositions="1/minute", rate_limit_uploads="1/minute")
    body = {"json": {"video_ids": [JOB_ID, JOB_ID]}}
    assert client.post("/api/v1/videos/compose", **body).status_code == 404
    assert client.post("/api/v1/videos/compose", **body).status_code == 429
    files = {"file": ("a.mp4", b"not a video", "video/mp4")}
    assert client.post("/api/v1/videos", files=files).status_code == 422


def test_limits_can_be_turned_off(open_client: Callable[..., TestClient]) -> None:
    client = open_client(rate_limit_generations="1/minute", rate_limits_enabled=False)
    assert {_generate(client, None).status_code for _ in range(5)} == {503}


def test_reads_are_not_limited(open_client: Callable[..., TestClient]) -> None:
    client = open_client(
        rate_limit_uploads="1/minute",
        rate_limit_generations="1/minute",
        rate_limit_compositions="1/minute",
    )
    assert {client.get("/api/v1/jobs").status_code for _ in range(20)} == {200}


# --- security headers -------------------------------------------------------------------

EXPECTED_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def test_the_policy_is_the_specified_one() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/jobs", 200),
        ("GET", "/health", 200),
        ("GET", "/api/v1/ping", 200),
        ("GET", "/api/v1/jobs", 401),
        ("GET", "/api/v1/nothing-here", 404),
        ("PUT", "/api/v1/jobs", 405),
        ("GET", "/assets/missing.js", 404),
    ],
)
def test_every_response_carries_the_headers(
    open_client: Callable[..., TestClient], dist: Path, method: str, path: str, status: int
) -> None:
    client = open_client(api_keys=KEY_A, static_dir=dist)
    response = client.request(method, path, headers=HTML)
    assert response.status_code == status
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get_list(name) == [value], name


def test_an_unhandled_error_carries_them_too(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_settings())
    with TestClient(app, raise_server_exceptions=False) as client:

        async def broken(*_: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(app.state.worker.store, "page", broken)
        response = client.get("/api/v1/jobs")
    assert response.status_code == 500
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_cached_response_does_not_collect_copies(
    open_client: Callable[..., TestClient],
) -> None:
    client = open_client()
    for _ in range(3):
        assert client.get("/health").headers.get_list("x-content-type-options") == ["nosniff"]


# --- the OpenAPI document ---------------------------------------------------------------


def test_openapi_documents_keys_and_limits(open_client: Callable[..., TestClient]) -> None:
    doc = open_client().get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {"type": "http", "scheme": "bearer", "description": scheme["description"]}
    limited = {("post", "/api/v1/videos"), ("post", "/api/v1/generations")}
    limited.add(("post", "/api/v1/videos/compose"))
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path.startswith("/api/v1/") and path != "/api/v1/ping":
                assert operation["security"] == [{"ApiKey": []}], (method, path)
                assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
            else:
                assert "security" not in operation and "401" not in responses, (method, path)
            if (method, path) in limited:
                assert "Retry-After" in responses["429"]["headers"], (method, path)
                assert responses["429"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"
                }
            else:
                assert "429" not in responses, (method, path)


# --- the deployment files ---------------------------------------------------------------

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_ecs_task_takes_api_keys_from_secrets_manager() -> None:
    task = json.loads((DEPLOY / "ecs-task-definition.json").read_text())
    (container,) = task["containerDefinitions"]
    plain = {item["name"]: item["value"] for item in container["environment"]}
    secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
    assert plain["APP_ENV"] == "production"
    assert "API_KEYS" not in plain and "AUTH_DISABLED" not in plain
    assert secrets["API_KEYS"].startswith("arn:aws:secretsmanager:")


def test_the_env_template_documents_the_security_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = (DEPLOY / "env.prod.template").read_text()
    values = dict(
        line.split("=", 1) for line in template.splitlines() if re.match(r"^[A-Z_]+=", line)
    )
    security = ["API_KEYS", "AUTH_DISABLED", "RATE_LIMITS_ENABLED"]
    security += ["RATE_LIMIT_UPLOADS", "RATE_LIMIT_GENERATIONS", "RATE_LIMIT_COMPOSITIONS"]
    assert set(security) <= set(values)
    assert values["API_KEYS"] == "" and values["AUTH_DISABLED"] == "false"
    # As shipped it refuses to start; filled in with a key, every value in it is valid.
    for name, value in values.items():
        monkeypatch.setenv(name, value.strip('"'))
    with pytest.raises(ValidationError, match="API_KEYS"):
        Settings()
    monkeypatch.setenv("API_KEYS", KEY_A)
    settings = Settings()
    assert auth_required(settings)
    # The template states the defaults.
    assert settings.rate_limits_enabled is True
    for name in security[3:]:
        assert getattr(settings, name.lower()) == Settings.model_fields[name.lower()].default
