"""API_KEYS as the service keeps them: SHA-256 digests only, compared in constant time.

The keys themselves are read once from the environment and dropped; a digest of a
high-entropy key reveals nothing usable, and comparing digests with hmac.compare_digest
takes the same time whichever byte differs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from pydantic import GetCoreSchemaHandler, SecretStr
from pydantic_core import core_schema

# Shorter keys are guessable; a generated key (`openssl rand -hex 32`) is 64 characters.
MIN_KEY_LENGTH = 16


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("ascii")).digest()


def _check(key: str, position: int) -> None:
    # Errors name the key's position, never its text.
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"key {position} is shorter than {MIN_KEY_LENGTH} characters")
    if not all("!" <= char <= "~" for char in key):
        raise ValueError(
            f"key {position} has a character other than printable ASCII "
            "(no spaces; commas separate keys)"
        )


class ApiKeyDigests:
    """The configured keys' digests; empty when API_KEYS is unset or blank."""

    __slots__ = ("_digests",)

    def __init__(self, keys: Iterable[str] = ()) -> None:
        digests = []
        for position, key in enumerate(keys, start=1):
            _check(key, position)
            digests.append(_digest(key))
        self._digests = tuple(dict.fromkeys(digests))

    @classmethod
    def parse(cls, value: Any) -> ApiKeyDigests:
        """From API_KEYS's text ("key1,key2"), a SecretStr of it, or a list of keys."""
        if isinstance(value, ApiKeyDigests):
            return value
        if value is None:
            return cls()
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, Iterable):
            raise ValueError("is not a comma-separated list of keys")
        keys = [
            item.get_secret_value() if isinstance(item, SecretStr) else str(item) for item in value
        ]
        return cls(key.strip() for key in keys if key.strip())

    def __bool__(self) -> bool:
        return bool(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    def __repr__(self) -> str:
        return f"ApiKeyDigests(<{len(self._digests)} keys>)"

    def match(self, presented: str) -> bytes | None:
        """The digest of the configured key equal to `presented`, or None.

        Every digest is compared, in constant time each, so the answer's timing
        depends on neither which key matched nor how much of one did.
        """
        try:
            candidate = _digest(presented)
        except UnicodeEncodeError:
            return None  # not ASCII: no configured key is
        found = None
        for digest in self._digests:
            if hmac.compare_digest(candidate, digest):
                found = digest
        return found

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(repr),
        )
