"""Load benchmark of the reference image with wrk: prints a table (figure, target, measured, ok?).

    python bench/load.py [--image ai-video-backend:latest] [--duration 30] [--connections 64]

1. wrk (64 connections, 30 s each) on /health, on the SPA's entry script under /assets/
   and on /, against the reference container: requests/s, p50, p99, errors (not 2xx, or
   socket errors). Target: no errors.
2. Controls from the same image and the same entry point (`python -m app`'s uvicorn
   set-up, one process), only the ASGI app swapped (bench/load_controls.py, mounted
   read-only): a bare ASGI app and a minimal FastAPI app answering /health, the same
   FastAPI app logging each request as the service does, a Starlette StaticFiles app
   serving the same asset. Targets: /health >= 0.9x minimal FastAPI, the asset >= 0.9x
   StaticFiles. Targets and controls alternate (A B ... B A) in the same run, so ratios
   compare like with like on a noisy machine. --baseline IMAGE adds a second build's
   service to the same rounds (before and after a change).
3. Memory of the reference container under load (Docker stats API, sampled twice a second).
4. Whether the service runs on uvloop and httptools (its process's memory map), and the
   start-up cost with and without them (docker run -> first 200 on /health).
5. N concurrent uploads (a 2 s clip made by the image's own ffmpeg) while wrk loads
   /health: /health p99 must stay under the image's HEALTHCHECK timeout.

Every container gets an API key made for the run (API_KEYS; the uploads send it). Only
ports published on 127.0.0.1 are loaded; every container is labelled and removed (also on
Ctrl-C or SIGTERM); every wrk run and wait has a time bound. Exit status 1 when a target
is missed, 2 when the benchmark cannot run (one line on stderr says why, e.g. wrk missing).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import shlex
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from load_docker import (
    BenchError,
    Fleet,
    PeakMemory,
    Service,
    connect,
    healthcheck_timeout_s,
    loaded_libraries,
    make_clip,
    spa_asset,
    usage,
    wait_ok,
)
from load_wrk import Background, Result, require_wrk
from load_wrk import run as wrk_run

RATIO_TARGET = 0.9
MEMORY_TARGET_MIB = 512  # the seed's minimum container memory (docs/benchmarks.md)
MIB = 1024 * 1024
# How long uploads (and the wrk load beside them) may take at most, and how often a
# client asks for a job's status: every answer costs the service CPU.
UPLOAD_WINDOW_S = 600
POLL_S = 0.25


@dataclass
class Row:
    figure: str
    target: str
    measured: str
    ok: bool | None  # None: informational


@dataclass
class Run:
    result: Result
    cpu_us_per_request: float


@dataclass
class Target:
    service: str
    path: str
    runs: list[Run] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Pooled over the rounds: all requests over all seconds."""
        return sum(r.result.requests for r in self.runs) / sum(r.result.seconds for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.result.errors for r in self.runs)

    @property
    def cpu_us(self) -> float:
        return statistics.median(r.cpu_us_per_request for r in self.runs)

    def summary(self) -> str:
        p50 = statistics.median(r.result.p50_ms for r in self.runs)
        p99 = max(r.result.p99_ms for r in self.runs)
        return (
            f"{self.rate:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.0f} ms, {self.errors} errors"
            f" ({self.cpu_us:.0f} µs CPU/req)"
        )


def measure(
    label: str, service: Service, path: str, args: argparse.Namespace, peak: PeakMemory
) -> Run:
    before = usage(service.container)
    with peak:
        result = wrk_run(service.url + path, args.connections, args.duration)
    after = usage(service.container)
    cpu = (after.cpu_ns - before.cpu_ns) / 1000 / max(1, result.requests)
    print(f"  {label:<14} {path:<28} {result.summary()}", file=sys.stderr)
    return Run(result, cpu)


def ratio_row(figure: str, target: Target, control: Target, goal: float | None) -> Row:
    value = target.rate / control.rate
    rounds = ", ".join(
        f"{a.result.rate / b.result.rate:.2f}"
        for a, b in zip(target.runs, control.runs, strict=True)
    )
    cpu = control.cpu_us / target.cpu_us
    measured = f"{value:.2f} (rounds {rounds}; CPU per request {cpu:.2f})"
    return Row(figure, f">= {goal}" if goal else "—", measured, value >= goal if goal else None)


def load_phase(fleet: Fleet, args: argparse.Namespace) -> tuple[list[Row], Service]:
    services = {
        "reference": fleet.run("reference"),
        "bare ASGI": fleet.run("bare-asgi", "bare-asgi"),
        "FastAPI": fleet.run("fastapi", "fastapi"),
        "FastAPI + log": fleet.run("fastapi-logged", "fastapi", LOAD_REQUEST_LOG="service"),
        "StaticFiles": fleet.run("static", "static"),
    }
    if args.baseline:
        services["baseline"] = fleet.run("baseline", image=args.baseline)
    ref = services["reference"]
    for name, service in services.items():
        if name != "StaticFiles":
            wait_ok(service, "/health")
    asset = spa_asset(ref)
    wait_ok(services["StaticFiles"], asset)
    targets = {
        "health": Target("reference", "/health"),
        "health bare": Target("bare ASGI", "/health"),
        "health fastapi": Target("FastAPI", "/health"),
        "health fastapi+log": Target("FastAPI + log", "/health"),
        "asset": Target("reference", asset),
        "asset static": Target("StaticFiles", asset),
        "root": Target("reference", "/"),
    }
    if args.baseline:
        targets["health baseline"] = Target("baseline", "/health")
        targets["asset baseline"] = Target("baseline", asset)
    peaks = {name: PeakMemory(s.container) for name, s in services.items()}
    print(f"warm-up, then {args.rounds} rounds of {args.duration:.0f} s each", file=sys.stderr)
    for target in targets.values():
        wrk_run(services[target.service].url + target.path, args.connections, min(3, args.duration))
    order = list(targets.values())
    for round_no in range(args.rounds):
        for target in order if round_no % 2 == 0 else order[::-1]:
            service = services[target.service]
            run = measure(target.service, service, target.path, args, peaks[target.service])
            target.runs.append(run)

    rows = []
    for label, key in (
        ("/health", "health"),
        (f"{asset} (SPA entry script)", "asset"),
        ("/ (index.html)", "root"),
    ):
        t = targets[key]
        rows.append(
            Row(
                f"reference {label}: {args.connections} conn, {args.duration:.0f} s, "
                f"{args.rounds} rounds",
                "0 errors",
                t.summary(),
                t.errors == 0,
            )
        )
    for label, key in (
        ("control: bare ASGI /health", "health bare"),
        ("control: minimal FastAPI /health", "health fastapi"),
        (
            "control: minimal FastAPI /health, logging each request as the service does",
            "health fastapi+log",
        ),
        ("control: Starlette StaticFiles, same asset", "asset static"),
    ):
        t = targets[key]
        rows.append(Row(label, "— (0 errors)", t.summary(), None))
    rows.append(
        ratio_row(
            "/health: reference / minimal FastAPI",
            targets["health"],
            targets["health fastapi"],
            RATIO_TARGET,
        )
    )
    rows.append(
        ratio_row("/health: reference / bare ASGI", targets["health"], targets["health bare"], None)
    )
    rows.append(
        ratio_row(
            "/health: reference / minimal FastAPI logging each request",
            targets["health"],
            targets["health fastapi+log"],
            None,
        )
    )
    rows.append(
        ratio_row(
            "asset: reference / StaticFiles",
            targets["asset"],
            targets["asset static"],
            RATIO_TARGET,
        )
    )
    if args.baseline:
        for label, key in (("/health", "health"), ("asset", "asset")):
            rows.append(
                ratio_row(
                    f"{label}: reference / the same from {args.baseline}",
                    targets[key],
                    targets[f"{key} baseline"],
                    None,
                )
            )
    peak = peaks["reference"]
    rows.append(
        Row(
            "reference container memory under load: peak usage / peak RSS (MiB)",
            f"<= {MEMORY_TARGET_MIB}",
            f"{peak.memory / MIB:.0f} / {peak.rss / MIB:.0f}",
            peak.memory < MEMORY_TARGET_MIB * MIB,
        )
    )
    others = ", ".join(f"{n} {p.memory / MIB:.0f}" for n, p in peaks.items() if n != "reference")
    rows.append(Row("  controls' peak usage (MiB)", "—", others, None))
    return rows, ref


def runtime_phase(fleet: Fleet, ref: Service, runs: int) -> list[Row]:
    """uvloop and httptools: in use? and what do they cost or save at start-up?"""
    loaded = loaded_libraries(ref.container)
    rows = [
        Row(
            "event loop and HTTP parser the service's process loaded (`python -m app`)",
            "uvloop + httptools",
            " + ".join(sorted(loaded)) or "neither (asyncio + h11)",
            loaded == {"uvloop", "httptools"},
        )
    ]
    variants = {
        "uvloop + httptools": {"LOAD_LOOP": "auto", "LOAD_HTTP": "auto"},
        "asyncio + h11": {"LOAD_LOOP": "asyncio", "LOAD_HTTP": "h11"},
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):  # interleaved: both see the same machine
        for name, env in variants.items():
            start = time.perf_counter()
            service = fleet.run("startup", "reference", **env)
            wait_ok(service, "/health", seconds=30)
            times[name].append(time.perf_counter() - start)
            if name == "asyncio + h11" and loaded_libraries(service.container):
                raise BenchError("the asyncio + h11 variant still loaded uvloop or httptools")
            fleet.remove(service)
    fast, slow = (statistics.median(times[n]) for n in variants)
    for name, values in times.items():
        rows.append(
            Row(
                f"  docker run → first 200 on /health, {name}, median of {runs} (s)",
                "—",
                f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})",
                None,
            )
        )
    rows.append(Row("  start-up cost of uvloop + httptools (s)", "—", f"{fast - slow:+.2f}", None))
    return rows


def health_probes(container: Any, since: datetime) -> tuple[int, int]:
    """(run, failed) Docker health probes that started after `since`."""
    container.reload()
    log = (container.attrs["State"].get("Health") or {}).get("Log") or []
    started = [e for e in log if _docker_time(e["Start"]) >= since]
    return len(started), sum(1 for e in started if e["ExitCode"] != 0)


def _docker_time(text: str) -> datetime:
    # Docker writes nanoseconds; datetime takes at most microseconds.
    match = re.match(r"(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if match is None:
        raise BenchError(f"unexpected timestamp from Docker: {text}")
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(match[1] + (match[2] or "")[:7] + zone)


def upload_and_wait(http: httpx.Client, url: str, clip: bytes, deadline: float) -> str:
    """The job's final status, or why there is none."""
    try:
        answer = http.post(
            f"{url}/api/v1/videos", files={"file": ("load.mp4", clip, "video/mp4")}, timeout=120
        )
        if answer.status_code != 202:
            return f"HTTP {answer.status_code}"
        job_id = answer.json()["id"]
        while time.monotonic() < deadline:
            status = str(http.get(f"{url}/api/v1/videos/{job_id}", timeout=30).json()["status"])
            if status in ("succeeded", "failed", "cancelled"):
                return status
            time.sleep(POLL_S)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return "unfinished"


def uploads_phase(
    fleet: Fleet, ref: Service, args: argparse.Namespace, timeout_s: float
) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        clip = make_clip(fleet.client, fleet.image, fleet.run_id, Path(tmp))
    since = datetime.now(UTC)
    start = time.monotonic()
    deadline = start + UPLOAD_WINDOW_S
    # wrk's own timeout is the HEALTHCHECK's: a slower answer is an error here too.
    load = Background(ref.url + "/health", args.connections, UPLOAD_WINDOW_S, timeout_s)
    try:
        time.sleep(1)  # wrk connected and loading before the first upload
        with (
            PeakMemory(ref.container) as peak,
            httpx.Client(
                limits=httpx.Limits(max_connections=args.uploads),
                headers={"Authorization": f"Bearer {fleet.environment['API_KEYS']}"},
            ) as http,
            ThreadPoolExecutor(max_workers=args.uploads) as pool,
        ):
            statuses = list(
                pool.map(
                    lambda _: upload_and_wait(http, ref.url, clip, deadline), range(args.uploads)
                )
            )
        elapsed = time.monotonic() - start
        health = load.stop()
    finally:
        load.kill()
    probes, failed = health_probes(ref.container, since)
    succeeded = statuses.count("succeeded")
    others = sorted({s for s in statuses if s != "succeeded"})
    print(
        f"  uploads: {succeeded}/{args.uploads} succeeded in {elapsed:.1f} s; /health "
        f"{health.summary()}",
        file=sys.stderr,
    )
    n = args.uploads
    return [
        Row(
            f"{n} concurrent uploads ({len(clip) // 1024} KiB clip) while wrk loads /health: "
            "jobs succeeded",
            f"{n} / {n}",
            f"{succeeded} / {n} in {elapsed:.0f} s"
            + (f" (others: {', '.join(others)})" if others else ""),
            succeeded == n,
        ),
        Row(
            "  /health p99 meanwhile (s)",
            f"< {timeout_s:g} (image HEALTHCHECK timeout)",
            f"{health.p99_ms / 1000:.2f} (p50 {health.p50_ms / 1000:.3f}, max "
            f"{health.max_ms / 1000:.2f}, {health.rate:,.0f} req/s)",
            health.p99_ms / 1000 < timeout_s,
        ),
        Row(
            "  /health errors meanwhile (not 2xx, socket errors, slower than the timeout)",
            "0",
            str(health.errors),
            health.errors == 0,
        ),
        Row(
            "  Docker's own health probes meanwhile: run / failed",
            "any / 0",
            f"{probes} / {failed}",
            failed == 0,
        ),
        Row(
            "  peak container memory meanwhile: usage / RSS (MiB)",
            "< 2048 (seed's recommendation)",
            f"{peak.memory / MIB:.0f} / {peak.rss / MIB:.0f}",
            peak.memory < 2048 * MIB,
        ),
    ]


def print_table(rows: list[Row]) -> None:
    header = ("figure", "target", "measured", "ok?")
    cells = [
        (r.figure, r.target, r.measured, "—" if r.ok is None else ("yes" if r.ok else "**NO**"))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(4)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the containers are removed either way."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not positive")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="ai-video-backend:latest")
    parser.add_argument(
        "--duration", type=positive(float), default=30.0, help="seconds per wrk run (default 30)"
    )
    parser.add_argument("--connections", type=positive(int), default=64)
    parser.add_argument(
        "--rounds",
        type=positive(int),
        default=2,
        help="alternating rounds over targets and controls (default 2)",
    )
    parser.add_argument("--uploads", type=positive(int), default=20)
    parser.add_argument("--startup-runs", type=positive(int), default=5)
    parser.add_argument(
        "--baseline",
        metavar="IMAGE",
        help="also load this image's service in the same rounds (e.g. the build before a change)",
    )
    parser.add_argument("--skip-uploads", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args(argv)
    begun = datetime.now(UTC)
    load_before = os.getloadavg()
    try:
        with sigterm_as_interrupt():
            require_wrk()
            client = connect(args.image)
            if args.baseline:
                connect(args.baseline)
            timeout_s = healthcheck_timeout_s(client, args.image)
            # A key of this run's own: the job routes want one, production refuses to
            # start without API_KEYS, and uploads beyond the default rate limit would
            # measure the limiter rather than the load.
            environment = {
                "API_KEYS": secrets.token_urlsafe(24),
                "RATE_LIMIT_UPLOADS": f"{max(30, args.uploads)}/minute",
            }
            fleet = Fleet(client, args.image, environment)
            try:
                rows, ref = load_phase(fleet, args)
                if not args.skip_startup:
                    rows += runtime_phase(fleet, ref, args.startup_runs)
                if not args.skip_uploads:
                    rows += uploads_phase(fleet, ref, args, timeout_s)
            finally:
                fleet.close()
    except BenchError as exc:
        print(f"bench/load.py: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench/load.py: interrupted; its containers are removed", file=sys.stderr)
        return 130
    load_after = os.getloadavg()
    print(
        f"date: {begun:%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; load average (1 min) "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    given = sys.argv[1:] if argv is None else argv
    print(f"command: python bench/load.py {shlex.join(given)}".rstrip())
    print(f"image: {args.image}")
    print()
    print_table(rows)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
