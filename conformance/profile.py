"""The profile: every threshold a check reads, typed, loaded from TOML.

The shipped ``profiles/default.toml`` is the reference contract and the only
source of default values. A fork's profile overrides any subset of its keys;
an unknown key, a wrong type or an unreadable file is a ``ProfileError`` whose
one-line message names the file and the key.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.catalogue import SWITCHABLE_SECTIONS, UNWAIVABLE

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "default.toml"


class ProfileError(ValueError):
    """A profile file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Suite:
    image: str
    json_report: str
    markdown_report: str
    exclude: list[str]
    ready_timeout_s: float
    keep_containers: bool
    attestation: str
    signing_key: str


@dataclass(frozen=True)
class Image:
    user: str
    require_numeric_uid: bool
    port: int
    workdir: str
    max_size_mb: float
    max_layers: int
    required_labels: list[str]
    healthcheck_max_interval_s: float
    healthcheck_max_timeout_s: float
    healthcheck_max_start_period_s: float
    healthcheck_max_retries: int
    secret_allowlist: list[str]


@dataclass(frozen=True)
class Fs:
    min_uid: int
    nologin_shells: list[str]
    home: str
    writable_dirs: list[str]
    readonly_dirs: list[str]
    build_tools: list[str]
    cache_globs: list[str]
    setuid_allowlist: list[str]
    python: str
    python_version: str
    required_modules: list[str]
    frontend_dir: str


@dataclass(frozen=True)
class Ffmpeg:
    required: bool
    reason: str
    tools: list[str]
    bindings: list[str]
    encoders: list[str]
    decoders: list[str]
    muxers: list[str]
    filters: list[str]
    temp_dir: str
    clip_s: float
    duration_tolerance_s: float
    transcode_max_s: float
    video_api: bool
    video_api_path: str
    video_api_timeout_s: float


@dataclass(frozen=True)
class Runtime:
    health_path: str
    health_body: Any  # any JSON value, compared exactly
    health_body_schema: dict[str, Any]  # a JSON Schema; when set, used instead of health_body
    detailed_path: str
    detailed_components: list[str]
    ping_path: str
    ready_max_s: float
    stays_up_s: float
    latency_requests: int
    latency_p95_ms: float
    stop_grace_s: float
    stop_max_s: float
    min_cpus: float
    min_memory_mb: int
    bad_config_env: dict[str, str]
    bad_config_timeout_s: float
    bad_config_max_lines: int
    hardened_tmpfs: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class Spa:
    required: bool
    reason: str
    client_routes: list[str]
    assets_prefix: str
    unknown_api_path: str
    disable_env: dict[str, str]
    browser_executable: str
    browser_routes: dict[str, str]
    browser_api_errors_expected: list[str]
    browser_api_prefix: str
    browser_timeout_s: float
    browser_session_storage: str  # sessionStorage key the SPA reads its API key from


@dataclass(frozen=True)
class Security:
    required: bool
    reason: str
    api_key: str  # the canary key every container is given and every API request sends
    api_keys_env: str
    protected_routes: list[str]  # "METHOD /path"; {name} parts get a made-up value
    public_routes: list[str]
    header_paths: list[str]
    headers: dict[str, str]  # header -> regex its value must match
    rate_limit_route: str
    rate_limit_body: dict[str, Any]  # the JSON body of each request of the burst
    rate_limit_env: dict[str, str]
    rate_limit_burst: int
    rate_limit_timeout_s: float


@dataclass(frozen=True)
class Logs:
    warning_allowlist: list[str]
    quiet_level: str
    run_secrets: dict[str, str]


@dataclass(frozen=True)
class Deploy:
    required: bool
    reason: str
    ecs_task_definition: str
    ecs_container: str
    min_cpu_units: int
    compose_file: str
    compose_overrides: list[str]
    compose_env: dict[str, str]
    compose_service: str


@dataclass(frozen=True)
class FullStack:
    required: bool
    reason: str
    compose_profile: str
    api_service: str
    worker_service: str
    workers: int
    image_variable: str
    secret_variables: list[str]
    pass_env: list[str]
    compose_env: dict[str, str]
    database_service: str
    database_query: list[str]
    up_timeout_s: float
    job_timeout_s: float
    queued_probe_s: float


SECTIONS: dict[str, type] = {
    "suite": Suite,
    "image": Image,
    "fs": Fs,
    "ffmpeg": Ffmpeg,
    "runtime": Runtime,
    "security": Security,
    "spa": Spa,
    "logs": Logs,
    "deploy": Deploy,
    "full_stack": FullStack,
}


@dataclass(frozen=True)
class Profile:
    path: Path | None  # None: the shipped default profile
    suite: Suite
    image: Image
    fs: Fs
    ffmpeg: Ffmpeg
    runtime: Runtime
    security: Security
    spa: Spa
    logs: Logs
    deploy: Deploy
    full_stack: FullStack
    waivers: dict[str, str] = field(default_factory=dict)
    # sections switched off: name -> (reason, the check IDs that waives)
    switched_off: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # "section.key" -> "profile" (set by the profile file) or "default"
    sources: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """Every value as "section.key" -> value."""
        flat: dict[str, Any] = {}
        for section in SECTIONS:
            for key, value in dataclasses.asdict(getattr(self, section)).items():
                flat[f"{section}.{key}"] = value
        return flat


KNOWN_TOOLS = ("ffmpeg", "ffprobe")
KNOWN_BINDINGS = ("ffmpeg-python",)


def _is_json(value: Any) -> bool:
    """A TOML value that is also a JSON value (no dates or times)."""
    if isinstance(value, dict):
        return all(_is_json(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return isinstance(value, str | int | float | bool)


def _type_name(expected: Any) -> str:
    if expected is Any:
        return "a JSON value"
    origin = typing.get_origin(expected)
    if origin is list:
        return "a list of strings"
    if origin is dict:
        return "a table" if typing.get_args(expected)[1] is Any else "a table of strings"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[expected]


def _conforms(value: Any, expected: Any) -> bool:
    if expected is Any:
        return _is_json(value)
    origin = typing.get_origin(expected)
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if origin is dict:
        if typing.get_args(expected)[1] is Any:
            return isinstance(value, dict) and _is_json(value)
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, expected) if isinstance(expected, type | types.UnionType) else False


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ProfileError(f"profile {path}: file not found") from None
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid TOML ({exc})") from None


def _validate(path: Path, data: dict[str, Any], from_check_ids: set[str]) -> None:
    for section, table in data.items():
        if section == "waivers":
            if not isinstance(table, dict):
                raise ProfileError(f"profile {path}: [waivers] must be a table")
            for check_id, reason in table.items():
                if from_check_ids and check_id not in from_check_ids:
                    raise ProfileError(f"profile {path}: waivers.{check_id}: unknown check ID")
                if check_id in UNWAIVABLE:
                    raise ProfileError(
                        f"profile {path}: waivers.{check_id}: no profile can waive it (the "
                        "contract never allows a root user or a root PID 1)"
                    )
                if not isinstance(reason, str) or not reason.strip():
                    raise ProfileError(
                        f"profile {path}: waivers.{check_id}: a waiver needs a written reason"
                    )
            continue
        schema = SECTIONS.get(section)
        if schema is None:
            raise ProfileError(f"profile {path}: unknown section [{section}]")
        if not isinstance(table, dict):
            raise ProfileError(f"profile {path}: {section} must be a table")
        hints = typing.get_type_hints(schema)
        for key, value in table.items():
            if key not in hints:
                raise ProfileError(f"profile {path}: unknown key {section}.{key}")
            if not _conforms(value, hints[key]):
                raise ProfileError(
                    f"profile {path}: {section}.{key} must be {_type_name(hints[key])}, "
                    f"got {value!r}"
                )
        _validate_switch(path, section, table)
    _validate_security(path, data.get("security") or {})
    ffmpeg = data.get("ffmpeg") or {}
    for key, known in (("tools", KNOWN_TOOLS), ("bindings", KNOWN_BINDINGS)):
        unknown = [name for name in ffmpeg.get(key, []) if name not in known]
        if unknown:
            raise ProfileError(
                f"profile {path}: ffmpeg.{key}: unknown {unknown[0]!r} (known: {', '.join(known)})"
            )
    if "tools" in ffmpeg and "ffmpeg" not in ffmpeg["tools"]:
        raise ProfileError(
            f"profile {path}: ffmpeg.tools must include 'ffmpeg' (switch the section off "
            "with [ffmpeg] required = false instead)"
        )


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def parse_route(entry: str) -> tuple[str, str] | None:
    """("POST", "/api/v1/videos") from "POST /api/v1/videos"; None when malformed."""
    method, _, path = entry.strip().partition(" ")
    path = path.strip()
    if method.upper() not in HTTP_METHODS or not path.startswith("/") or " " in path:
        return None
    return method.upper(), path


def _validate_security(path: Path, table: dict[str, Any]) -> None:
    """Routes are "METHOD /path" and header rules are regexes: a typo must not make a
    check request the wrong thing, or pass a header whatever its value."""
    routes = [*table.get("protected_routes", []), *table.get("public_routes", [])]
    if "rate_limit_route" in table:
        routes.append(table["rate_limit_route"])
    for entry in routes:
        if parse_route(entry) is None:
            raise ProfileError(
                f'profile {path}: security: route {entry!r} is not "METHOD /path" '
                f"(methods: {', '.join(HTTP_METHODS)})"
            )
    for name, pattern in (table.get("headers") or {}).items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProfileError(
                f"profile {path}: security.headers.{name}: not a regex ({exc})"
            ) from None
    if table.get("rate_limit_burst", 2) < 2:
        raise ProfileError(
            f"profile {path}: security.rate_limit_burst must be at least 2 (one request "
            "within the limit, one past it)"
        )


def _validate_switch(path: Path, section: str, table: dict[str, Any]) -> None:
    if table.get("required", True) is False:
        if section not in SWITCHABLE_SECTIONS:
            raise ProfileError(f"profile {path}: [{section}] cannot be switched off")
        if not str(table.get("reason", "")).strip():
            raise ProfileError(
                f"profile {path}: [{section}] required = false needs a written reason"
            )


def _refuse_root(path: Path, data: dict[str, Any]) -> None:
    """An invariant no profile can change: the image's user is never root."""
    user = str((data.get("image") or {}).get("user", "")).split(":", 1)[0]
    if user in ("root", "0"):
        raise ProfileError(
            f"profile {path}: image.user = {user!r}: the contract never allows root "
            "(PID 1 and the image's USER must be a non-zero UID)"
        )


def load_profile(path: Path | None, check_ids: set[str] | None = None) -> Profile:
    """The default profile, overridden by ``path`` when given."""
    known = check_ids or set()
    base = _read(DEFAULT_PROFILE)
    _validate(DEFAULT_PROFILE, base, known)
    override = _read(path) if path is not None else {}
    if path is not None:
        _validate(path, override, known)
        _refuse_root(path, override)
    sections: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, schema in SECTIONS.items():
        merged = dict(base.get(name, {}))
        for key in typing.get_type_hints(schema):
            sources[f"{name}.{key}"] = "default"
        for key, value in override.get(name, {}).items():
            merged[key] = value
            sources[f"{name}.{key}"] = "profile"
        hints = typing.get_type_hints(schema)
        missing = [key for key in hints if key not in merged]
        if missing:  # only a broken default profile can get here
            raise ProfileError(f"profile {DEFAULT_PROFILE}: missing key {name}.{missing[0]}")
        sections[name] = schema(
            **{k: float(v) if hints[k] is float else v for k, v in merged.items()}
        )
    waivers = {str(k): str(v).strip() for k, v in override.get("waivers", {}).items()}
    switched_off: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, ids in SWITCHABLE_SECTIONS.items():
        section = sections[name]
        if not section.required:
            switched_off[name] = (section.reason.strip(), ids)
            for check_id in ids:
                waivers.setdefault(check_id, f"[{name}] required = false: {section.reason.strip()}")
    security = sections["security"]
    if security.required and not (security.api_key.strip() and security.api_keys_env.strip()):
        raise ProfileError(
            f"profile {path or DEFAULT_PROFILE}: security.api_key and security.api_keys_env "
            "must be set (or switch the section off with [security] required = false and a "
            "reason)"
        )
    if sections["ffmpeg"].required and not sections["ffmpeg"].bindings:
        waivers.setdefault(
            "FF-BINDINGS", "ffmpeg.bindings = []: the image drives FFmpeg without Python bindings"
        )
    return Profile(
        path=path, waivers=waivers, switched_off=switched_off, sources=sources, **sections
    )
