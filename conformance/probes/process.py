"""Who the container's PID 1 runs as, read by the engine from outside (`docker top`):
the image needs no shell, no ps and no /proc access of its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from conformance.probes.errors import FactError

_COLUMNS = ("pid", "ruid", "euid", "suid", "fsuid", "rgid", "egid", "sgid", "fsgid", "args")


@dataclass(frozen=True)
class ProcessIdentity:
    pid: int
    uids: tuple[int, ...]  # real, effective, saved, filesystem
    gids: tuple[int, ...]
    command: str


def pid1_identity(container: Any) -> ProcessIdentity:
    """The identity of the container's init process (its PID 1)."""
    try:
        container.reload()
        pid = int(container.attrs["State"]["Pid"] or 0)
        if not pid:
            raise FactError("the container is not running, so PID 1 has no identity to read")
        top = container.top(ps_args="-o " + ",".join(_COLUMNS))
    except docker.errors.APIError as exc:
        raise FactError(f"the engine could not list the container's processes: {exc}") from None
    return parse_top(top, pid)


def parse_top(top: dict[str, Any], pid: int) -> ProcessIdentity:
    titles = [str(t).lower() for t in top.get("Titles") or []]
    if titles[: len(_COLUMNS) - 1] != list(_COLUMNS[:-1]):
        raise FactError(f"the engine's process list has unexpected columns: {titles}")
    for row in top.get("Processes") or []:
        if str(row[0]) == str(pid):
            try:
                numbers = [int(value) for value in row[1:9]]
            except ValueError:
                raise FactError(f"PID 1's ids are not numbers: {row[1:9]}") from None
            return ProcessIdentity(pid, tuple(numbers[:4]), tuple(numbers[4:]), " ".join(row[9:]))
    raise FactError(f"PID 1 (host pid {pid}) is not in the engine's process list")


_LISTEN = "0A"


def listening_ports(pid: int, proc: Path = Path("/proc")) -> list[int] | None:
    """TCP ports a process's network namespace listens on, read from the host's
    /proc (a local daemon, readable by this user); None when that cannot be read."""
    if pid <= 0:
        return None
    ports: set[int] = set()
    readable = False
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / str(pid) / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports) if readable else None
