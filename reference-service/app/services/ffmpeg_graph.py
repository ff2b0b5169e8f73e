"""ffmpeg-python, typed as Any: the library ships no type information and builds its
stream methods at import time, so a checker cannot see `input`, `output`, `compile`."""

from __future__ import annotations

import importlib
from typing import Any

ffmpeg: Any = importlib.import_module("ffmpeg")
