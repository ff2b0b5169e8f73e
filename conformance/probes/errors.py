"""The one way a fact gatherer says it could not establish its fact."""

from __future__ import annotations


class FactError(Exception):
    """A fact that could not be established; the message is one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
