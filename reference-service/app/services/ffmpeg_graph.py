"""ffmpeg-python, typed as Any and loaded on first use.

The library ships no type information and builds its stream methods at import time,
so a checker cannot see `input`, `output`, `compile`. It also pulls in `future` and
`past`: loading it with the first job keeps it out of the server's start-up.
"""

from __future__ import annotations

import importlib
from typing import Any


class _OnFirstUse:
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("ffmpeg"), name)


ffmpeg: Any = _OnFirstUse()
