"""Notice when the Docker daemon goes away mid-run (stopped, restarted, its socket
gone). The session then stops with one line naming the daemon, and the checks it
cut short say so instead of showing a client library's traceback."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import docker
import docker.errors

# A daemon that answers no ping for this long is gone for the session's purposes; on
# a loaded machine a live one answers well within it.
PING_TIMEOUT_S = 30


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


def connection_error(exc: BaseException | None) -> BaseException | None:
    """The error in ``exc``'s chain that is the client losing its connection to the
    daemon (not the daemon answering with an error), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        # APIError is the daemon's answer (and, through requests, an OSError too)
        if not isinstance(exc, docker.errors.APIError) and isinstance(
            exc, OSError | docker.errors.DockerException
        ):
            return exc
        # urllib3 wraps a cut stream in its own errors, which are not OSErrors
        if type(exc).__module__.startswith("urllib3") and "Protocol" in type(exc).__name__:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class DaemonWatch:
    """Holds an event stream open to the daemon: it ends only when the daemon stops
    or becomes unreachable. ``lost`` then says why."""

    def __init__(self, connect: Callable[[], docker.DockerClient] | None = None) -> None:
        self._connect = connect or (lambda: docker.from_env(timeout=PING_TIMEOUT_S))
        self._closing = threading.Event()
        self._stream: Any = None
        self._lock = threading.Lock()
        self.lost: str | None = None

    def start(self) -> None:
        try:
            client = self._connect()
            client.api.trust_env = False  # see container.ignore_environment_proxies
            # Daemon events only (reloads): a quiet stream that stays open.
            self._stream = client.api.events(decode=True, filters={"type": "daemon"})
        except Exception:  # docker raises several unrelated types here
            return  # no stream: a check's connection error and a ping still tell
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self) -> None:
        why = "the connection to it closed"
        try:
            for _ in self._stream:
                pass
        except Exception as exc:  # whatever the client raises when the socket dies
            why = _reason(exc)
        self._mark(why)

    def _mark(self, why: str) -> None:
        with self._lock:
            if not self._closing.is_set() and self.lost is None:
                self.lost = why

    def confirm(self, exc: BaseException | None) -> str | None:
        """Why the daemon is gone, when it is; ``exc`` (a check's error) may be the first
        sign of it, before the event stream has ended: the daemon is then pinged."""
        if self.lost is not None or connection_error(exc) is None:
            return self.lost
        try:
            self._connect().ping()
        except Exception as ping_error:  # several unrelated types, as above
            self._mark(f"it does not answer: {_reason(ping_error)}")
        return self.lost

    def close(self) -> None:
        """Stop following: the stream's end is the session's doing from here on."""
        with self._lock:
            self._closing.set()
        stream = self._stream
        if stream is not None:
            # closing a stream whose daemon is gone may raise anything
            with contextlib.suppress(Exception):
                stream.close()
