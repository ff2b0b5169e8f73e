"""The error a generation reports; apart from the client so that importing it is cheap."""

from __future__ import annotations


class GenerationError(Exception):
    """The message is for clients; `diagnostic` (exception text) only for the log."""

    def __init__(self, reason: str, diagnostic: str | None = None) -> None:
        super().__init__(reason)
        self.diagnostic = diagnostic
