"""Probes behind /health/detailed: each returns a small dict with an `ok` verdict."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

VERSION_TIMEOUT_SECONDS = 5.0


async def tool_version(binary: str) -> dict[str, Any]:
    """Whether `binary` is on PATH and the first line of its `-version` output."""
    path = shutil.which(binary)
    if path is None:
        return {"ok": False, "found": False, "error": f"{binary} not found on PATH"}
    try:
        process = await asyncio.create_subprocess_exec(
            path,
            "-hide_banner",
            "-version",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        return {"ok": False, "found": True, "path": path, "error": str(exc)}
    try:
        out, _ = await asyncio.wait_for(process.communicate(), VERSION_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"ok": False, "found": True, "path": path, "error": "-version timed out"}
    first_line = out.decode(errors="replace").splitlines()[0] if out else ""
    ok = process.returncode == 0 and bool(first_line)
    return {"ok": ok, "found": True, "path": path, "version": first_line}


def directory_writable(directory: Path) -> dict[str, Any]:
    """Really create, write and remove a file: permission bits alone lie under --read-only."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return {"ok": False, "path": str(directory), "writable": False, "error": exc.strerror}
    return {"ok": True, "path": str(directory), "writable": True}


def disk_space(directory: Path, minimum_free_bytes: int) -> dict[str, Any]:
    target = directory if directory.exists() else directory.parent
    try:
        usage = shutil.disk_usage(target)
    except OSError as exc:
        return {"ok": False, "path": str(directory), "error": exc.strerror}
    return {
        "ok": usage.free >= minimum_free_bytes,
        "path": str(directory),
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "threshold_bytes": minimum_free_bytes,
    }
