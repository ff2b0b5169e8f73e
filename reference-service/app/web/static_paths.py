"""Map a URL path onto a file strictly inside a root directory."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

# Vite names bundle files `<name>-<8+ char base64url hash>.<ext>`.
_HASHED_NAME = re.compile(r"[-.][A-Za-z0-9_-]{8,}\.[A-Za-z0-9]+$")


def resolve_inside(root: Path, url_path: str) -> Path | None:
    """The regular file `url_path` names under `root`, or None.

    `url_path` is already percent-decoded once by the server; it is never
    decoded again, so `%2e%2e%2f` arriving as text stays a literal name.
    Anything that resolves (symlinks included) outside `root` is refused.
    """
    if "\x00" in url_path or "\\" in url_path:
        return None
    parts = PurePosixPath(url_path.lstrip("/")).parts
    if any(part in ("..", ".") for part in parts) or not parts:
        return None
    root = root.resolve()
    candidate = root.joinpath(*parts).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def is_hashed_asset(path: Path) -> bool:
    return _HASHED_NAME.search(path.name) is not None
