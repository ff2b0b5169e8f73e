"""Logging to stdout only: the container runtime collects it, nothing is written to files."""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # uvicorn logs its lifecycle on a logger named "uvicorn.error"; an INFO
        # line carrying the word "error" only misleads people grepping logs.
        if record.name == "uvicorn.error":
            record.name = "uvicorn"
        return super().format(record)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's loggers carry no handlers of their own here (log_config=None),
    # so they propagate to the root handler above.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
