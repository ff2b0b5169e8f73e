"""Runs wrk (https://github.com/wg/wrk, Debian package `wrk`) and reads its result.

The Lua script next to this file counts every response that is not 2xx (wrk's own count
lets 3xx through) and prints one JSON line with the figures read here.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from dataclasses import dataclass

from load_docker import BenchError

SCRIPT = __file__.removesuffix("load_wrk.py") + "load_report.lua"
MARK = "LOAD_JSON "
INSTALL = "wrk is not installed: apt-get install -y wrk (Debian package; brew install wrk on macOS)"


@dataclass
class Result:
    requests: int
    seconds: float
    not_2xx: int
    socket_errors: int  # connect, read, write and timeouts
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return self.not_2xx + self.socket_errors

    def summary(self) -> str:
        return (
            f"{self.rate:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"{self.errors} errors"
        )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(INSTALL)
    return path


def command(url: str, connections: int, seconds: float, timeout_s: float) -> list[str]:
    # Two threads: this machine class has two cores, shared with the server.
    return [
        require_wrk(),
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "-s",
        SCRIPT,
        url,
    ]


def parse(output: str) -> Result:
    for line in output.splitlines():
        if line.startswith(MARK):
            data = json.loads(line.removeprefix(MARK))
            return Result(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                not_2xx=data["not_2xx"],
                socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
            )
    raise BenchError(f"wrk printed no result: {output.strip()[-300:]}")


def run(url: str, connections: int, seconds: float, timeout_s: float = 2) -> Result:
    """Load `url` for `seconds`; wrk stops itself, and is killed if it overruns."""
    argv = command(url, connections, seconds, timeout_s)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + 30:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return parse(done.stdout)


class Background:
    """wrk running while something else happens; `stop()` ends it early (SIGINT makes
    wrk print its result) and returns the result."""

    def __init__(self, url: str, connections: int, max_seconds: float, timeout_s: float) -> None:
        self.max_seconds = max_seconds
        self.process = subprocess.Popen(
            command(url, connections, max_seconds, timeout_s),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> Result:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            out, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise BenchError("wrk did not stop on SIGINT") from None
        return parse(out + err)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
