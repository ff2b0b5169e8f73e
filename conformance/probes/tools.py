"""Programs of the image (ffmpeg, ffprobe, python), run by argv in a container of the
image through the engine's exec: never `sh -c`, so an image without a shell works."""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from dataclasses import dataclass
from typing import Any

import docker.errors

from conformance.probes.errors import FactError

EXEC_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ToolRun:
    argv: tuple[str, ...]
    rc: int | None  # None: no answer within the timeout
    stdout: str
    stderr: str
    seconds: float
    missing: bool = False  # the program is not in the image (or not executable)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def why(self, limit: int = 160) -> str:
        """A one-line reason for a failed run."""
        if self.missing:
            return f"{self.argv[0]} is not in the image"
        if self.rc is None:
            return f"no answer within {self.seconds:.0f} s"
        text = " ".join((self.stderr or self.stdout).split())
        return f"exit {self.rc}" + (f": {text[-limit:]}" if text else "")


def run(
    container: Any, argv: list[str], user: str = "", timeout_s: float = EXEC_TIMEOUT_S
) -> ToolRun:
    """Run ``argv`` in a running container; FactError when it cannot run at all (the
    container is gone, the user does not exist), a ToolRun otherwise."""
    from conformance.container import spawn  # container.py imports the probes

    started = time.monotonic()
    future = spawn(lambda: container.exec_run(argv, user=user, demux=True))
    try:
        result = future.result(timeout=timeout_s)
    except TimeoutError:
        return ToolRun(tuple(argv), None, "", "", time.monotonic() - started)
    except docker.errors.APIError as exc:
        raise FactError(f"`{argv[0]}` could not be run in the container: {exc}") from None
    out, err = result.output if isinstance(result.output, tuple) else (result.output, None)
    stdout = (out or b"").decode(errors="replace")
    stderr = (err or b"").decode(errors="replace")
    seconds = time.monotonic() - started
    # The engine's own failure (the program never started) comes on either stream.
    said = stdout + stderr
    engine_said = "exec failed" in said or "unable to find user" in said
    if result.exit_code in (126, 127) and engine_said:
        if "unable to find user" in said or "no matching entries in passwd" in said:
            raise FactError(f"user {user!r} does not exist in the image, so nothing runs as it")
        reason = " ".join(said.split())
        missing = "executable file not found" in said or "no such file or directory" in said
        if "permission denied" in said:
            reason = f"{argv[0]} is not executable by user {user or '(the image default)'}"
        return ToolRun(tuple(argv), result.exit_code, "", reason, seconds, missing=missing)
    return ToolRun(tuple(argv), result.exit_code, stdout, stderr, seconds)


def read_file(container: Any, path: str) -> bytes:
    """A file from a container, through the engine's archive API (no shell, no cat)."""
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member else None
            if handle is None:
                raise FactError(f"{path} in the container is not a regular file")
            return handle.read()
    except docker.errors.APIError as exc:
        raise FactError(f"{path} could not be read from the container: {exc}") from None


def write_file(container: Any, path: str, data: bytes, uid: int = 0, gid: int = 0) -> None:
    """Put a file into a container (owned by uid:gid), through the engine's archive API."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(posixpath.basename(path))
        info.size, info.mode, info.uid, info.gid = len(data), 0o644, uid, gid
        tar.addfile(info, io.BytesIO(data))
    try:
        if not container.put_archive(posixpath.dirname(path), buffer.getvalue()):
            raise FactError(f"{path} could not be written into the container")
    except docker.errors.APIError as exc:
        raise FactError(f"{path} could not be written into the container: {exc}") from None
