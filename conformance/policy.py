"""A policy file: what a repository accepts besides a fully passed, reference run.

The same TOML file can be given to the suite (``--conformance-policy``) and to
the gate (``--policy``); it belongs in the caller's repository, under review::

    [allow]
    waivers = ["DEP-ECS"]             # check IDs the profile may waive
    excludes = []                     # check IDs a run may leave out
    overrides = ["image.max_size_mb"] # profile keys that may differ from the reference
    skips = []                        # check IDs that may skip

Check IDs may be globs (``DEP-*``); every entry must match something real.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path

from conformance.catalogue import CHECKS
from conformance.schema import Policy

_KINDS = ("waivers", "excludes", "overrides", "skips")
_PROFILE_KEY = re.compile(r"^[a-z_*?]+\.[a-z0-9_*?]+$")


class PolicyError(ValueError):
    """A policy file or flag that cannot be used; the message is one line."""


def _check_entry(kind: str, entry: object, where: str) -> str:
    if not isinstance(entry, str) or not entry.strip():
        raise PolicyError(f"{where}: {kind} entries must be non-empty strings, got {entry!r}")
    entry = entry.strip()
    if kind == "overrides":
        if not _PROFILE_KEY.match(entry):
            raise PolicyError(
                f"{where}: override {entry!r} is not a profile key like image.max_size_mb"
            )
        return entry
    entry = entry.upper()
    if not any(fnmatchcase(check_id, entry) for check_id in CHECKS):
        raise PolicyError(f"{where}: {kind} entry {entry!r} matches no check ID")
    return entry


def _read(path: Path) -> dict[str, list[object]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"allow"})
    if unknown:
        raise PolicyError(f"policy file {path}: unknown table [{unknown[0]}] (only [allow])")
    allow = data.get("allow", {})
    if not isinstance(allow, dict):
        raise PolicyError(f"policy file {path}: allow must be a table")
    bad = sorted(set(allow) - set(_KINDS))
    if bad:
        raise PolicyError(f"policy file {path}: unknown key allow.{bad[0]} ({', '.join(_KINDS)})")
    for kind, value in allow.items():
        if not isinstance(value, list):
            raise PolicyError(f"policy file {path}: allow.{kind} must be a list")
    return allow


def load_policy(
    path: Path | None = None,
    waivers: Iterable[str] = (),
    excludes: Iterable[str] = (),
    overrides: Iterable[str] = (),
    skips: Iterable[str] = (),
) -> Policy:
    """The policy from ``path`` (if any) plus allowances given as flags."""
    flags = {"waivers": waivers, "excludes": excludes, "overrides": overrides, "skips": skips}
    allowed: dict[str, set[str]] = {kind: set() for kind in _KINDS}
    if path is not None:
        for kind, entries in _read(path).items():
            allowed[kind] |= {_check_entry(kind, e, str(path)) for e in entries}
    for kind, given in flags.items():
        allowed[kind] |= {_check_entry(kind, e, f"--allow-{kind[:-1]}") for e in given}
    sources = [str(path)] if path is not None else []
    if any(flags.values()):
        sources.append("flags")
    return Policy(
        **{kind: frozenset(values) for kind, values in allowed.items()},
        source=" + ".join(sources) or "no allowances",
    )
