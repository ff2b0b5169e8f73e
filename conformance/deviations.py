"""Every profile value that differs from the shipped reference profile.

A deviation changes what a check measures against, so the report lists each
one (key, reference value, value, source, direction) and the green rule treats
it like a waiver: allowed only by a policy. Suite settings (image, report paths),
where the browser is, and the sections' ``required``/``reason`` switches are
not deviations: the switches are waivers already, reported as such.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from conformance.profile import Profile, load_profile

# Where the suite finds its own tools is not part of the contract (CI runners keep
# Chrome elsewhere), nor is the canary key's value (a fork's keys may need another
# shape); everything else a profile can set changes what is measured.
_NOT_CONTRACT = ("suite.", "spa.browser_executable")
_NOT_CONTRACT_KEYS = frozenset({"security.api_key"})
_SWITCH_KEYS = ("required", "reason")
# Numbers where a larger value accepts more (looser) or less (tighter).
_LARGER_IS_LOOSER = ("max", "timeout", "_tolerance_", "stays_up")
_LARGER_IS_TIGHTER = ("min_uid", "min_cpu_units")
# Lists where more entries accept more (allowlists) or demand more (everything else).
_MORE_IS_LOOSER = ("allowlist", "expected", "nologin_shells", "writable_dirs")


@cache
def reference_values() -> dict[str, Any]:
    return load_profile(None).values()


def profile_digest(profile: Profile) -> str:
    """SHA-256 of the resolved profile values: the same values give the same digest."""
    canonical = json.dumps(profile.values(), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _direction(key: str, reference: Any, value: Any) -> str:
    name = key.split(".", 1)[1]
    numbers = (int, float)
    if isinstance(reference, numbers) and isinstance(value, numbers):
        if isinstance(reference, bool) or isinstance(value, bool):
            return "changed"
        raised = value > reference
        verb = "raised" if raised else "lowered"
        if name.startswith(_LARGER_IS_TIGHTER):
            return f"{verb} (looser)" if not raised else f"{verb} (tighter)"
        if any(part in name for part in _LARGER_IS_LOOSER) or name.endswith("_s"):
            return f"{verb} (looser)" if raised else f"{verb} (tighter)"
        return verb
    if isinstance(reference, list) and isinstance(value, list):
        added = [v for v in value if v not in reference]
        removed = [v for v in reference if v not in value]
        parts = ([f"added {added}"] if added else []) + ([f"removed {removed}"] if removed else [])
        looser_when_added = any(part in name for part in _MORE_IS_LOOSER)
        if added and not removed:
            parts.append("(looser)" if looser_when_added else "(tighter)")
        elif removed and not added:
            parts.append("(tighter)" if looser_when_added else "(looser)")
        return " ".join(parts) or "reordered"
    return "changed"


def deviations(profile: Profile) -> list[dict[str, Any]]:
    """The profile's values that differ from the reference, in profile order."""
    reference = reference_values()
    found = []
    for key, value in profile.values().items():
        if key.startswith(_NOT_CONTRACT) or key in _NOT_CONTRACT_KEYS:
            continue
        if key.split(".", 1)[1] in _SWITCH_KEYS:
            continue
        if value == reference.get(key):
            continue
        found.append(
            {
                "key": key,
                "reference": reference.get(key),
                "value": value,
                "source": str(profile.path) if profile.path else "default",
                "direction": _direction(key, reference.get(key), value),
            }
        )
    return found
