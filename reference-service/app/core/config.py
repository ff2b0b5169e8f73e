"""The one settings object: every environment variable the service reads."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from app.security.api_keys import ApiKeyDigests

# `<root>/app/core/config.py` -> `<root>`; in the image <root> is /app.
SERVICE_ROOT = Path(__file__).resolve().parents[2]

APP_ENVS = ("development", "staging", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# scheme://host[:port] with nothing after it: what a browser sends as Origin.
_ORIGIN_RE = re.compile(
    r"^https?://"
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)


def _default_workers() -> int:
    # FFmpeg encodes already use several threads each; one job per two cores
    # keeps the machine responsive while still overlapping I/O-bound steps.
    return max(1, (os.cpu_count() or 1) // 2)


class Settings(BaseSettings):
    """Read from the environment only (no .env file): the container is configured by its runner."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_file=None)

    app_env: str = "production"
    log_level: str = "INFO"
    # The access line of each successful GET/HEAD /health: off, since the runtime's
    # probes (Docker's HEALTHCHECK, ECS, a load balancer) would fill the log with them.
    log_health_probes: bool = False
    api_title: str = "AI Video Generation Pipeline"
    api_version: str = "0.1.0"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Who may call the job routes and how often (app/security). API_KEYS is comma-separated;
    # only the keys' digests are kept. Validated after app_env and api_keys: see below.
    api_keys: Annotated[ApiKeyDigests, NoDecode] = Field(default_factory=ApiKeyDigests)
    auth_disabled: bool = Field(default=False, validate_default=True)
    rate_limits_enabled: bool = True
    rate_limit_uploads: str = "30/minute"
    rate_limit_generations: str = "10/minute"
    rate_limit_compositions: str = "30/minute"

    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65535)

    # The full stack (docs/service.md): each server setting replaces an embedded default.
    # DATABASE_URL (postgresql://...): jobs in Postgres instead of SQLite in the uploads dir.
    database_url: str | None = None
    # REDIS_URL (redis://...): jobs go on an arq queue in Redis and run in worker
    # containers (`python -m app.worker`), not in the API's own process.
    redis_url: str | None = None
    queue_name: str = "ai-video:jobs"
    # How often a job is started before it ends `failed` (a worker killed mid-job counts).
    job_max_tries: int = Field(default=3, ge=1)
    # A job running longer is stopped (and failed). A worker that dies mid-job leaves its
    # job marked in progress this long (+10 s) before another worker takes it.
    job_timeout_seconds: float = Field(default=1800.0, gt=0)
    # On SIGTERM a worker takes no new job and lets the current ones finish this long,
    # then hands them back to the queue: inside compose's 10 s stop grace period.
    worker_stop_wait_seconds: int = Field(default=7, ge=0)
    replicate_api_token: SecretStr | None = None
    replicate_model: str = "minimax/video-01"
    replicate_base_url: str = "https://api.replicate.com"
    replicate_timeout_seconds: float = Field(default=600.0, gt=0)
    replicate_poll_seconds: float = Field(default=2.0, gt=0)
    replicate_http_timeout_seconds: float = Field(default=30.0, gt=0)
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str | None = None
    # S3_BUCKET: results and thumbnails in S3 (credentials and endpoint from the standard
    # AWS chain only: env, profile, task role) instead of the uploads dir.
    s3_bucket: str | None = None
    s3_prefix: str = ""

    enable_static_files: bool = True
    static_dir: Path = SERVICE_ROOT / "frontend" / "dist"
    temp_dir: Path = SERVICE_ROOT / "temp"
    upload_dir: Path = SERVICE_ROOT / "uploads"
    disk_free_min_bytes: int = Field(default=100 * 1024 * 1024, ge=0)

    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    worker_concurrency: int = Field(default_factory=_default_workers, ge=1)
    ffmpeg_timeout_seconds: float = Field(default=600.0, gt=0)
    download_max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    compose_max_clips: int = Field(default=20, ge=2)

    @field_validator("app_env", mode="before")
    @classmethod
    def _check_app_env(cls, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in APP_ENVS:
            raise ValueError(f"is not one of {', '.join(APP_ENVS)}")
        return text

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, value: Any) -> str:
        text = str(value).strip().upper()
        if text not in LOG_LEVELS:
            raise ValueError(f"is not one of {', '.join(LOG_LEVELS)}")
        return text

    @field_validator("auth_disabled")
    @classmethod
    def _production_needs_auth(cls, value: bool, info: ValidationInfo) -> bool:
        # An image started in production with no keys would serve the job API to anyone.
        keys = info.data.get("api_keys")
        if not value and info.data.get("app_env") == "production" and keys is not None and not keys:
            raise ValueError(
                "with no API_KEYS is refused in production: set API_KEYS (comma-separated "
                "API keys), or AUTH_DISABLED=true when something in front authenticates"
            )
        return value

    @field_validator("rate_limit_uploads", "rate_limit_generations", "rate_limit_compositions")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse_many  # only for a configured value: off the default start-up

        try:
            items = parse_many(value)
        except ValueError:
            items = []
        if not items or any(item.amount < 1 for item in items):
            raise ValueError("is not a rate limit such as 30/minute or 100/hour")
        return value.strip()

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> list[str]:
        items = value.split(",") if isinstance(value, str) else list(value or [])
        origins = [str(item).strip().rstrip("/") for item in items if str(item).strip()]
        for origin in origins:
            match = _ORIGIN_RE.match(origin)
            if match is None or (match["port"] and not 0 < int(match["port"]) < 65536):
                raise ValueError(f"origin {origin!r} is not scheme://host[:port]")
        return origins

    @field_validator(
        "database_url",
        "redis_url",
        "replicate_api_token",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_region",
        "s3_bucket",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `-e REPLICATE_API_TOKEN=` in a template means "not configured".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        schemes = ("postgresql://", "postgres://", "postgresql+asyncpg://")
        if value is not None and not value.startswith(schemes):
            raise ValueError("must be a postgresql://user:password@host:5432/database URL")
        return value

    @property
    def replicate_configured(self) -> bool:
        return self.replicate_api_token is not None

    @property
    def s3_configured(self) -> bool:
        return bool(self.s3_bucket)

    @property
    def jobs_run_elsewhere(self) -> bool:
        """With a queue server, worker containers run the jobs; the API only queues them."""
        return self.redis_url is not None

    @property
    def jobs_db_path(self) -> Path:
        return self.upload_dir / "jobs.sqlite3"


# Error types whose pydantic message is too wordy for a one-line startup error.
_SHORT_REASONS = {
    "int_parsing": "is not an integer",
    "int_from_float": "is not an integer",
    "float_parsing": "is not a number",
    "bool_parsing": "is not a boolean (use true or false)",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "greater_than": "is too small",
}


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad variable, its value and why (secrets are never echoed)."""
    parts = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        reason = _SHORT_REASONS.get(item["type"]) or str(item["msg"]).removeprefix("Value error, ")
        # URLs of servers carry their passwords.
        hidden = any(word in name for word in ("TOKEN", "SECRET", "KEY", "URL"))
        shown = "<hidden>" if hidden else repr(item.get("input"))
        parts.append(f"{name}={shown} {reason}")
    return "; ".join(parts)


def load_settings() -> Settings | str:
    """Settings from the environment, or the one-line reason they are invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        return f"configuration error: {describe_validation_error(exc)}"
    except SettingsError as exc:
        return f"configuration error: {exc}"
