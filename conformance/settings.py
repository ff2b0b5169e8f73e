"""The suite's own settings: each one an option, an ini key, an environment variable
and a profile key, resolved as option > env > ini > profile > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance.profile import Profile, load_profile


@dataclass(frozen=True)
class Setting:
    key: str  # the [suite] key in the profile
    flag: str
    kind: str  # "str" | "bool" | "list" | "float"
    help: str

    @property
    def ini(self) -> str:
        return f"conformance_{self.key}"

    @property
    def env(self) -> str:
        return f"CONFORMANCE_{self.key.upper()}"

    @property
    def dest(self) -> str:
        return f"conformance_{self.key}"


PROFILE = Setting(
    "profile", "--conformance-profile", "str", "profile TOML file (default: the reference contract)"
)
SETTINGS: tuple[Setting, ...] = (
    Setting("image", "--image", "str", "image to check, e.g. ai-video-backend:latest"),
    Setting("json_report", "--conformance-json", "str", "write the JSON report to this path"),
    Setting(
        "markdown_report",
        "--conformance-markdown",
        "str",
        "write the Markdown summary to this path",
    ),
    Setting("exclude", "--conformance-exclude", "list", "comma-separated check IDs not to run"),
    Setting(
        "ready_timeout_s",
        "--conformance-ready-timeout",
        "float",
        "seconds to wait for a container to serve",
    ),
    Setting(
        "keep_containers", "--conformance-keep", "bool", "leave the containers running (debugging)"
    ),
    Setting(
        "attestation",
        "--conformance-attestation",
        "str",
        "write the signed in-toto attestation (DSSE envelope) to this path",
    ),
    Setting(
        "signing_key",
        "--conformance-signing-key",
        "str",
        "private key file (PEM) that signs the attestation; or the PEM itself in "
        "CONFORMANCE_SIGNING_KEY_PEM",
    ),
)


@dataclass(frozen=True)
class Resolved:
    """The suite settings plus the profile, each value with its source."""

    profile: Profile
    image: str
    json_report: str
    markdown_report: str
    exclude: list[str]
    ready_timeout_s: float
    keep_containers: bool
    attestation: str
    signing_key: str
    sources: dict[str, str] = field(default_factory=dict)  # key -> option|env|ini|profile|default
    rootdir: Path = field(default_factory=Path.cwd)  # pytest's rootdir

    def _base(self, key: str) -> Path:
        from_profile = self.profile.path and self.profile.sources[f"deploy.{key}"] == "profile"
        return self.profile.path.parent if from_profile and self.profile.path else self.rootdir

    def deploy_path(self, key: str) -> Path | None:
        """A deploy artifact (deploy.<key>): relative to the profile file that sets it,
        otherwise to pytest's rootdir; None when the profile sets it to ""."""
        raw = str(getattr(self.profile.deploy, key))
        if not raw:
            return None
        return self._base(key) / Path(raw).expanduser()

    def compose_files(self) -> list[Path] | None:
        """The compose file and its overrides, in order; None without a compose file."""
        main = self.deploy_path("compose_file")
        if main is None:
            return None
        base = self._base("compose_overrides")
        return [main, *(base / Path(p).expanduser() for p in self.profile.deploy.compose_overrides)]

    def report_values(self) -> dict[str, dict[str, Any]]:
        values: dict[str, dict[str, Any]] = {
            "suite.profile": {
                "value": str(self.profile.path) if self.profile.path else None,
                "source": self.sources["profile"],
            }
        }
        for setting in SETTINGS:
            values[f"suite.{setting.key}"] = {
                "value": getattr(self, setting.key),
                "source": self.sources[setting.key],
            }
        for key, value in self.profile.values().items():
            if not key.startswith("suite."):
                values[key] = {"value": value, "source": self.profile.sources[key]}
        return values


def _parse(setting: Setting, raw: Any, origin: str) -> Any:
    if setting.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise pytest.UsageError(f"{origin}: {raw!r} is not a boolean (use true or false)")
    if setting.kind == "list":
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [str(item).strip() for item in items if str(item).strip()]
    if setting.kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise pytest.UsageError(f"{origin}: {raw!r} is not a number") from None
    return str(raw)


def _explicit(config: pytest.Config, setting: Setting) -> tuple[Any, str, str] | None:
    """(raw value, source, where) from option, env or ini, if any of them sets it."""
    value = config.getoption(setting.dest, default=None)
    if value is not None:
        return value, "option", setting.flag
    if os.environ.get(setting.env):
        return os.environ[setting.env], "env", setting.env
    ini = config.getini(setting.ini)
    if ini not in ("", None, []):
        return ini, "ini", f"ini {setting.ini}"
    return None


def suite_requested(config: pytest.Config) -> bool:
    """True when the user named an image or a profile anywhere but a profile."""
    return any(_explicit(config, s) is not None for s in (*SETTINGS[:1], PROFILE))


def resolve(config: pytest.Config, check_ids: set[str]) -> Resolved:
    """Load the profile and resolve every setting; bad input raises pytest.UsageError."""
    from conformance.profile import ProfileError

    explicit_profile = _explicit(config, PROFILE)
    sources = {"profile": explicit_profile[1] if explicit_profile else "default"}
    path = None
    if explicit_profile:
        path = Path(str(explicit_profile[0])).expanduser()
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
    try:
        profile = load_profile(path, check_ids)
    except ProfileError as exc:
        raise pytest.UsageError(str(exc)) from None
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        found = _explicit(config, setting)
        if found is not None:
            raw, source, where = found
            values[setting.key] = _parse(setting, raw, where)
            sources[setting.key] = source
        else:
            values[setting.key] = getattr(profile.suite, setting.key)
            sources[setting.key] = profile.sources[f"suite.{setting.key}"]
    unknown = sorted(set(values["exclude"]) - check_ids)
    if unknown:
        raise pytest.UsageError(f"exclude: unknown check ID {unknown[0]} (see docs/checks.md)")
    return Resolved(profile=profile, sources=sources, rootdir=Path(config.rootpath), **values)
