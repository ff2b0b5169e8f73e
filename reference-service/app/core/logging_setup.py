"""Logging to stdout only: the container runtime collects it, nothing is written to files."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# How long a line may wait for the writer thread: under load, a batch of lines per write.
FLUSH_INTERVAL_SECONDS = 0.05
# Lines waiting for the writer before the logging thread waits for it (back-pressure): a
# stdout nobody reads must not grow the process without bound.
MAX_PENDING_LINES = 10_000
# How long flushing or closing waits for the writer (a stdout that never drains).
CLOSE_TIMEOUT_SECONDS = 5.0


class _Formatter(logging.Formatter):
    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        # uvicorn logs its lifecycle on a logger named "uvicorn.error"; an INFO
        # line carrying the word "error" only misleads people grepping logs.
        if record.name == "uvicorn.error":
            record.name = "uvicorn"
        return super().format(record)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # The default's text ("2026-01-31 12:00:00,123"), with the date and time part
        # computed once a second rather than for every line.
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"


class WriterThreadHandler(logging.Handler):
    """Formats on the logging thread; a thread of its own writes the lines, all those
    waiting in one write, each within FLUSH_INTERVAL_SECONDS.

    Under load the service logs a line per request, and the reader of stdout (the
    container runtime) is slower than the event loop: written one by one, every line was
    a write syscall that could stall the loop until the pipe drained, and a message the
    runtime's log driver handles on its own. A WARNING or worse is written at once. The
    order is kept (one queue, one writer); flush() and close(), which logging runs at
    exit, write what is still queued.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._pending: deque[str] = deque()
        self._closed = False
        self._start_writer()
        # A forked child (gunicorn's workers) has no writer thread: it gets its own.
        method = weakref.WeakMethod(self._after_fork_in_child)
        os.register_at_fork(after_in_child=lambda: (m := method()) is not None and m())

    def _start_writer(self) -> None:
        self._wake = threading.Event()
        self._written = threading.Condition()  # notified after every batch
        self._writer = threading.Thread(target=self._write_forever, name="log-writer", daemon=True)
        self._writer.start()

    def _after_fork_in_child(self) -> None:
        self._pending.clear()  # the parent's lines: the parent writes them
        if not self._closed:
            self._start_writer()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        if self._closed:
            self._write([line])  # late messages at exit: nobody left to batch them
            return
        self._pending.append(line)  # deque.append is atomic: no lock on the hot path
        if record.levelno >= logging.WARNING:
            self._wake.set()
        elif len(self._pending) >= MAX_PENDING_LINES:
            self.flush()

    def flush(self) -> None:
        """Return once every line queued so far is written."""
        with self._written:
            self._wake.set()
            self._written.wait_for(
                lambda: not self._pending or not self._writer.is_alive(), CLOSE_TIMEOUT_SECONDS
            )

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._writer is not threading.current_thread():
            self._writer.join(CLOSE_TIMEOUT_SECONDS)
        super().close()

    def _write_forever(self) -> None:
        while not self._closed:
            self._wake.wait(FLUSH_INTERVAL_SECONDS)
            self._wake.clear()
            self._drain()
        self._drain()

    def _drain(self) -> None:
        with self._written:
            if self._pending:
                self._write([self._pending.popleft() for _ in range(len(self._pending))])
            self._written.notify_all()

    def _write(self, lines: list[str]) -> None:
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except (OSError, ValueError):
            pass  # stdout gone (a closed pipe at shutdown): nowhere left to say so


class HealthProbeFilter(logging.Filter):
    """Drops uvicorn's access line for a successful GET or HEAD of the liveness path.

    Every runtime probe (Docker's HEALTHCHECK, ECS, a load balancer) asks that path every
    few seconds; those lines say nothing a failing probe wouldn't, and each costs the
    event loop about as much as the /health answer itself. Failures (any other status)
    and every other path are still logged.
    """

    def __init__(self, path: str = "/health") -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: args = (client, method, path with query, http version, status)
        args = record.args
        if not (isinstance(args, tuple) and len(args) == 5):
            return True
        _, method, path, _, status = args
        probe = path == self.path and method in ("GET", "HEAD")
        return not (probe and isinstance(status, int) and 200 <= status < 300)


def _record_only_what_the_format_uses() -> None:
    # A LogRecord looks up its caller's file, line and function (a walk up the stack) and
    # its thread, process and asyncio task names unless told not to (the logging HOWTO's
    # "Optimization"); LOG_FORMAT prints none of them, and the access log makes a record
    # per request, even for a probe whose line the filter then drops.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12+
        logging.logAsyncioTasks = False


def configure_logging(level: str, health_probes: bool = False) -> None:
    _record_only_what_the_format_uses()
    handler = WriterThreadHandler(sys.stdout)
    handler.setFormatter(_Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, WriterThreadHandler):
            old.close()  # a second call (tests): stop the first writer
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's loggers carry no handlers of their own here (log_config=None),
    # so they propagate to the root handler above.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
    access = logging.getLogger("uvicorn.access")
    for old_filter in [f for f in access.filters if isinstance(f, HealthProbeFilter)]:
        access.removeFilter(old_filter)
    if not health_probes:
        access.addFilter(HealthProbeFilter())
