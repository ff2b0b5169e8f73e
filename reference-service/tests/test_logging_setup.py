"""The stdout log handler: lines batched by a writer thread, none lost, none reordered."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import logging_setup
from app.core.logging_setup import LOG_FORMAT, WriterThreadHandler, _Formatter


class SlowStream(io.StringIO):
    """A stdout whose reader lags: every write takes a while, and writes are counted."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.writes = 0

    def write(self, text: str) -> int:
        time.sleep(self.delay)
        self.writes += 1
        return super().write(text)


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger(f"test-logging-setup-{time.monotonic_ns()}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    for handler in log.handlers:
        handler.close()
    log.handlers.clear()


def attach(log: logging.Logger, stream: io.StringIO) -> WriterThreadHandler:
    handler = WriterThreadHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    return handler


def test_every_line_in_order_and_batched(logger: logging.Logger) -> None:
    stream = SlowStream(delay=0.01)
    handler = attach(logger, stream)
    for n in range(2000):
        logger.info("line %d", n)
    handler.flush()
    assert stream.getvalue().splitlines() == [f"line {n}" for n in range(2000)]
    assert stream.writes < 200  # many lines per write, not one write per line


def test_lines_appear_without_a_flush(logger: logging.Logger) -> None:
    stream = SlowStream()
    attach(logger, stream)
    logger.info("started")
    deadline = time.monotonic() + 5
    while "started" not in stream.getvalue():
        assert time.monotonic() < deadline, "the writer thread never wrote the line"
        time.sleep(0.01)


def test_warnings_are_written_at_once(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging_setup, "FLUSH_INTERVAL_SECONDS", 60.0)
    stream = SlowStream()
    attach(logger, stream)  # its writer now waits a minute between batches
    logger.info("routine")
    logger.warning("problem")
    deadline = time.monotonic() + 5
    while "problem" not in stream.getvalue():
        assert time.monotonic() < deadline, "a WARNING waited for the next batch"
        time.sleep(0.01)
    assert stream.getvalue().splitlines() == ["routine", "problem"]


def test_close_writes_what_is_queued(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging_setup, "FLUSH_INTERVAL_SECONDS", 60.0)
    stream = SlowStream()
    handler = attach(logger, stream)
    for n in range(50):
        logger.info("queued %d", n)
    handler.close()
    assert stream.getvalue().splitlines() == [f"queued {n}" for n in range(50)]
    logger.info("after close")  # a late message at exit is still written
    assert stream.getvalue().endswith("after close\n")


def test_a_full_queue_waits_for_the_writer(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging_setup, "MAX_PENDING_LINES", 10)
    monkeypatch.setattr(logging_setup, "FLUSH_INTERVAL_SECONDS", 60.0)
    stream = SlowStream(delay=0.001)
    handler = attach(logger, stream)
    for n in range(95):
        logger.info("%d", n)
        assert len(handler._pending) <= 10
    handler.flush()
    assert stream.getvalue().split() == [str(n) for n in range(95)]


def test_logging_from_many_threads_loses_nothing(logger: logging.Logger) -> None:
    stream = SlowStream()
    handler = attach(logger, stream)

    def worker(name: str) -> None:
        for n in range(300):
            logger.info("%s %d", name, n)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1200
    for i in range(4):  # each thread's own lines in its own order
        assert [line for line in lines if line.startswith(f"t{i} ")] == [
            f"t{i} {n}" for n in range(300)
        ]


def test_a_closed_stdout_does_not_raise(logger: logging.Logger) -> None:
    stream = SlowStream()
    handler = attach(logger, stream)
    stream.close()
    logger.warning("nobody reads this")
    handler.flush()  # returns: the writer dropped the line rather than dying


def test_timestamp_matches_the_standard_formatter() -> None:
    ours, standard = _Formatter(LOG_FORMAT), logging.Formatter(LOG_FORMAT)
    for created in (1_790_000_000.0, 1_790_000_000.999, 1_790_000_001.5, 1_790_000_001.001):
        record = logging.makeLogRecord({"msg": "m", "levelname": "INFO", "name": "x"})
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert ours.formatTime(record) == standard.formatTime(record)


def test_uvicorn_error_logger_is_renamed() -> None:
    record = logging.makeLogRecord({"msg": "Started", "levelname": "INFO", "name": "uvicorn.error"})
    assert " INFO uvicorn: Started" in _Formatter(LOG_FORMAT).format(record)


def test_a_forked_child_gets_its_own_writer(logger: logging.Logger, tmp_path: Path) -> None:
    # gunicorn forks its workers after the master configured logging: a worker's lines
    # must still be written, once, and the master's queued lines not twice.
    target = tmp_path / "log.txt"
    with target.open("a", buffering=1) as stream:
        handler = WriterThreadHandler(stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.info("parent before fork")
        pid = os.fork()
        if pid == 0:  # the child: log, flush, leave without running the parent's cleanup
            try:
                logger.info("child")
                handler.flush()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        logger.info("parent after fork")
        handler.flush()
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted(target.read_text().splitlines()) == [
        "child",
        "parent after fork",
        "parent before fork",
    ]


def test_the_probe_filter_drops_only_a_successful_probe_of_the_liveness_path() -> None:
    """Shaped as uvicorn's access records: (client, method, path, http version, status)."""

    def record(*args: object) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s", args, None)

    probes = logging_setup.HealthProbeFilter()
    assert not probes.filter(record("1.2.3.4:5", "GET", "/health", "1.1", 200))
    assert not probes.filter(record("1.2.3.4:5", "HEAD", "/health", "1.1", 204))
    assert probes.filter(record("1.2.3.4:5", "GET", "/health", "1.1", 500))
    assert probes.filter(record("1.2.3.4:5", "POST", "/health", "1.1", 200))
    assert probes.filter(record("1.2.3.4:5", "GET", "/health/detailed", "1.1", 200))
    assert probes.filter(record("1.2.3.4:5", "GET", "/health?x=1", "1.1", 200))
    assert probes.filter(record("a message with other arguments"))
