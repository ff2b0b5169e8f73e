"""A program run in a container (docker exec) with all of its output.

docker-py reads an exec's output from the raw socket under the HTTP response. When
the client is slow to read the response's headers (a busy machine, other threads of
the session), the program's first output has already arrived and sits in the
response's read buffer, which the raw socket bypasses: exec_run then returns empty
or partial output with exit code 0 (about 1 run in 60 with two busy threads here).
This reads the frames through that buffer instead."""

from __future__ import annotations

import contextlib
from typing import Any

from docker.models.containers import Container, ExecResult

STDOUT, STDERR = 1, 2


def read_frames(reader: Any) -> tuple[bytes | None, bytes | None]:
    """Docker's multiplexed stream (8-byte header: stream, 0, 0, 0, big-endian length;
    then the payload) until the end, as (stdout, stderr); None for an empty stream, as
    docker-py's exec_run has it."""
    streams: dict[int, list[bytes]] = {STDOUT: [], STDERR: []}
    while True:
        header = reader.read(8)
        if len(header) < 8:
            break
        size = int.from_bytes(header[4:8], "big")
        payload = reader.read(size) if size else b""
        streams.setdefault(header[0], []).append(payload)
        if len(payload) < size:
            break
    out, err = b"".join(streams[STDOUT]), b"".join(streams[STDERR])
    return out or None, err or None


def exec_run(container: Container, cmd: list[str], user: str = "") -> ExecResult:
    """``container.exec_run(cmd, user=user, demux=True)``, without losing output."""
    api = container.client.api
    exec_id = api.exec_create(container.id, cmd, stdout=True, stderr=True, user=user)["Id"]
    sock = api.exec_start(exec_id, socket=True)
    response = getattr(sock, "_response", None)
    reader = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
    try:
        if reader is None:  # not a plain HTTP connection (npipe, ssh): docker-py's way
            from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter

            frames = (demux_adaptor(*frame) for frame in frames_iter(sock, False))
            output = consume_socket_output(frames, demux=True)
        else:
            output = read_frames(reader)
    finally:
        with contextlib.suppress(Exception):  # closing a finished stream may raise anything
            (response or sock).close()
    return ExecResult(api.exec_inspect(exec_id)["ExitCode"], output)


def complete_output(container: Container) -> Container:
    """``container`` whose exec_run (as the probes call it) keeps all of the output."""
    if not getattr(container, "_complete_exec", False):
        original = container.exec_run

        def run(cmd: list[str], user: str = "", demux: bool = False, **kwargs: Any) -> ExecResult:
            if not demux or kwargs:  # the probes' way only; anything else as docker-py does it
                return original(cmd, user=user, demux=demux, **kwargs)
            return exec_run(container, cmd, user)

        container.exec_run = run
        container._complete_exec = True
    return container
