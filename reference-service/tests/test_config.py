from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import SERVICE_ROOT, Settings, describe_validation_error
from tests.conftest import run_module, service_env


def test_defaults_need_only_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Production is the default, and it refuses to start without API_KEYS (test_security.py).
    monkeypatch.setenv("API_KEYS", "a-key-of-sixteen-chars")
    settings = Settings()
    assert settings.app_env == "production"
    assert len(settings.api_keys) == 1 and settings.auth_disabled is False
    assert settings.rate_limits_enabled is True
    assert settings.rate_limit_uploads == settings.rate_limit_compositions == "30/minute"
    assert settings.rate_limit_generations == "10/minute"
    assert settings.log_level == "INFO"
    assert settings.api_title == "AI Video Generation Pipeline"
    assert settings.api_version == "0.1.0"
    assert settings.cors_origins == []
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert settings.enable_static_files is True
    assert settings.static_dir == SERVICE_ROOT / "frontend" / "dist"
    assert settings.temp_dir == SERVICE_ROOT / "temp"
    assert settings.upload_dir == SERVICE_ROOT / "uploads"
    assert settings.worker_concurrency >= 1
    assert not settings.replicate_configured


def test_reads_every_seed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "APP_ENV": "Staging",
        "LOG_LEVEL": "debug",
        "API_TITLE": "T",
        "API_VERSION": "9.9.9",
        "CORS_ORIGINS": "http://localhost:3000, https://app.example.com:8443/",
        "DATABASE_URL": "postgresql://u:p@db:5432/v",
        "REDIS_URL": "redis://r:6379/0",
        "REPLICATE_API_TOKEN": "r8_secret",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "AWS_REGION": "us-east-1",
        "S3_BUCKET": "bucket",
        "ENABLE_STATIC_FILES": "false",
        "PORT": "9000",
        "STATIC_DIR": "/srv/dist",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.app_env == "staging"
    assert settings.log_level == "DEBUG"
    assert settings.cors_origins == ["http://localhost:3000", "https://app.example.com:8443"]
    assert settings.replicate_api_token is not None
    assert settings.replicate_api_token.get_secret_value() == "r8_secret"
    assert "r8_secret" not in repr(settings) and "aws-secret" not in repr(settings)
    assert settings.enable_static_files is False
    assert settings.port == 9000
    assert settings.static_dir == Path("/srv/dist")
    assert settings.s3_configured and settings.replicate_configured


def test_blank_secret_means_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "  ")
    assert not Settings().replicate_configured


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("APP_ENV", "bogus", "APP_ENV='bogus' is not one of development, staging, production"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is not one of DEBUG, INFO, WARNING, ERROR"),
        ("CORS_ORIGINS", "localhost:3000", "origin 'localhost:3000' is not scheme://host[:port]"),
        ("CORS_ORIGINS", "http://a.example/path", "is not scheme://host[:port]"),
        ("CORS_ORIGINS", "http://a.example:99999", "is not scheme://host[:port]"),
        ("PORT", "eighty", "PORT='eighty' is not an integer"),
        ("PORT", "70000", "PORT='70000' is too large"),
        ("ENABLE_STATIC_FILES", "perhaps", "ENABLE_STATIC_FILES='perhaps' is not a boolean"),
    ],
)
def test_invalid_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert expected in describe_validation_error(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_ENV", "bogus"),
        ("LOG_LEVEL", "LOUD"),
        ("CORS_ORIGINS", "http://ok.example,not-an-origin"),
        ("PORT", "abc"),
    ],
)
def test_entrypoint_rejects_bad_config_in_one_line(tmp_path: Path, name: str, value: str) -> None:
    result = run_module("app", service_env(tmp_path, **{name: value}))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {name}=")
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_config_never_echoes_a_secret(tmp_path: Path) -> None:
    env = service_env(tmp_path, APP_ENV="bogus", REPLICATE_API_TOKEN="r8_do_not_print")
    result = run_module("app", env)
    assert result.returncode == 2
    assert "r8_do_not_print" not in result.stderr + result.stdout


@pytest.mark.parametrize("module", ["app", "app.worker"])
def test_a_database_url_that_is_not_postgres_is_refused_without_its_password(
    tmp_path: Path, module: str
) -> None:
    env = service_env(tmp_path, DATABASE_URL="mysql://app:hunter2-secret@db/videos")
    result = run_module(module, env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configuration error: DATABASE_URL=<hidden> must be a "
        "postgresql://user:password@host:5432/database URL"
    ]
    assert "hunter2" not in result.stdout + result.stderr
