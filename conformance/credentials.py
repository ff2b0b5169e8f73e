"""The canary API key: the one place that says how the suite configures it in a
container and how its requests present it. With ``[security] required = false``
there is no key: nothing is configured and nothing is sent."""

from __future__ import annotations

import re

from conformance.profile import Profile

# What a route's {name} parts become: well-formed for the reference (32 hex digits)
# and naming nothing that exists.
MADE_UP_ID = "00000000000000000000000000c0ffee"
_PARAMETER = re.compile(r"\{[^}/]*\}")


def key_env(profile: Profile) -> dict[str, str]:
    """The variable that configures the canary key in a container."""
    security = profile.security
    return {security.api_keys_env: security.api_key} if security.required else {}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def auth_headers(profile: Profile) -> dict[str, str]:
    """The headers every API request of the suite sends to the image."""
    return bearer(profile.security.api_key) if profile.security.required else {}


def revoked(key: str) -> str:
    """A key shaped like ``key`` (same length, same kinds of characters) that is not it:
    each letter and digit moves one place on (z→a, 9→0)."""

    def shift(char: str) -> str:
        for first, size in (("a", 26), ("A", 26), ("0", 10)):
            offset = ord(char) - ord(first)
            if 0 <= offset < size:
                return chr(ord(first) + (offset + 1) % size)
        return char

    return "".join(shift(char) for char in key)


def concrete(path: str) -> str:
    """A route's path with each {name} part made up."""
    return _PARAMETER.sub(MADE_UP_ID, path)
