"""Scale benchmark of the full stack: the same batch of uploads through 1, 2 and 4 worker
containers; prints a table (figure, target, measured, ok?).

    python bench/scale.py [--image ai-video-backend:latest] [--jobs 8] [--workers 1,2,4]

For each worker count the compose `full` profile (deploy/docker-compose.test.yml) comes
up with the image as API and workers, on the official postgres/redis/moto images or the
stand-ins that scripts/full-stack-images.sh exports (POSTGRES_IMAGE, REDIS_IMAGE,
S3_IMAGE). The batch (a 10 s 640x360 H.264/AAC clip, made once by the image's own
FFmpeg) is uploaded all at once; each job's latency runs from its upload's answer to the
first poll that sees it `succeeded`. Figures: throughput (jobs per minute over the
whole batch), p50 and p95 latency, the CPU the workers used (Docker's stats, summed over
the worker containers), and the speed-up over one worker, measured in the same run.

Every stack is labelled, brought up under its own project name and taken down with
`down -v` (also on Ctrl-C or SIGTERM). Exit status 1 when a target is missed, 2 when the
benchmark cannot run (one line on stderr says why).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from load import Row, print_table, sigterm_as_interrupt
from load_docker import LABEL, BenchError, connect, make_clip

from conformance.full_stack import Stack, StackError, StackSpec
from conformance.probes.compose import compose_command, host_environment

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "deploy" / "docker-compose.test.yml"
API, WORKER, PORT = "backend-full", "worker", 8000
UP_SECONDS = 300.0
JOB_SECONDS = 600.0


@dataclass(frozen=True)
class Batch:
    workers: int
    makespan_s: float
    latencies_s: list[float]
    worker_cpu_s: float

    @property
    def per_minute(self) -> float:
        return len(self.latencies_s) / self.makespan_s * 60

    def latency(self, quantile: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


def stack_env(image: str, key: str) -> dict[str, str]:
    env = host_environment("POSTGRES_IMAGE", "REDIS_IMAGE", "S3_IMAGE")
    env.update(IMAGE=image, POSTGRES_PASSWORD=secrets.token_hex(16), API_KEYS=key)
    return env


def cpu_seconds(stack: Stack, service: str) -> float:
    total = 0.0
    for container in stack.containers(service):
        stats = container.stats(stream=False)
        total += stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
    return total


def run_batch(stack: Stack, workers: int, jobs: int, clip: bytes, key: str) -> Batch:
    stack.label_every_service(stack.services())
    stack.up([API, WORKER], {WORKER: workers}, UP_SECONDS)
    stack.wait_healthy([API, WORKER], UP_SECONDS)
    base = f"http://127.0.0.1:{stack.published_port(API, PORT)}"
    headers = {"Authorization": f"Bearer {key}"}
    cpu_before = cpu_seconds(stack, WORKER)
    with httpx.Client(base_url=base, headers=headers, timeout=60, trust_env=False) as http:

        def upload(n: int) -> tuple[str, float]:
            answer = http.post(
                "/api/v1/videos", files={"file": (f"clip-{n}.mp4", clip, "video/mp4")}
            )
            if answer.status_code != 202:
                raise BenchError(f"upload {n}: HTTP {answer.status_code}: {answer.text[:160]}")
            return str(answer.json()["id"]), time.monotonic()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            submitted = dict(pool.map(upload, range(jobs)))
        done: dict[str, float] = {}
        while len(done) < jobs:
            if time.monotonic() - started > JOB_SECONDS:
                raise BenchError(f"{jobs - len(done)} jobs not done in {JOB_SECONDS:g} s")
            for job_id in set(submitted) - set(done):
                job = http.get(f"/api/v1/jobs/{job_id}").json()
                if job["status"] == "succeeded":
                    done[job_id] = time.monotonic()
                elif job["status"] in ("failed", "cancelled"):
                    raise BenchError(f"job {job_id} {job['status']}: {job['error']}")
            time.sleep(0.2)
    makespan = max(done.values()) - started
    latencies = [done[job_id] - submitted[job_id] for job_id in submitted]
    return Batch(workers, makespan, latencies, cpu_seconds(stack, WORKER) - cpu_before)


def rows(batches: list[Batch], jobs: int) -> list[Row]:
    one = batches[0]
    table = [Row("jobs per batch", "—", f"{jobs} x 10 s 640x360 clip", None)]
    for batch in batches:
        speedup = batch.per_minute / one.per_minute
        table += [
            Row(
                f"{batch.workers} worker(s): throughput",
                "—" if batch is one else "≥ 1.0x one worker",
                f"{batch.per_minute:.1f} jobs/min ({speedup:.2f}x)",
                None if batch is one else speedup >= 1.0,
            ),
            Row(
                f"{batch.workers} worker(s): job latency p50 / p95",
                "—",
                f"{batch.latency(0.5):.1f} s / {batch.latency(0.95):.1f} s",
                None,
            ),
            Row(
                f"{batch.workers} worker(s): worker CPU per job",
                "—",
                f"{batch.worker_cpu_s / jobs:.1f} CPU-s "
                f"({batch.worker_cpu_s / batch.makespan_s:.2f} cores busy on average)",
                None,
            ),
        ]
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--image", default="ai-video-backend:latest")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    command = compose_command()
    if command is None:
        print("bench: compose is not installed (docker compose or docker-compose)", file=sys.stderr)
        return 2
    run_id = secrets.token_hex(4)
    key = secrets.token_urlsafe(24)
    batches: list[Batch] = []
    try:
        client = connect(args.image)
        with sigterm_as_interrupt(), tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            clip = make_clip(
                client, args.image, run_id, workdir, seconds=10, size="640x360", rate=30
            )
            for count in counts:
                spec = StackSpec(
                    command,
                    [COMPOSE_FILE],
                    f"bench-scale-{run_id}-{count}",
                    "full",
                    stack_env(args.image, key),
                    {LABEL: run_id},
                )
                stack = Stack(spec, client, workdir)
                try:
                    batches.append(run_batch(stack, count, args.jobs, clip, key))
                finally:
                    stack.down()
    except (BenchError, StackError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    table = rows(batches, args.jobs)
    print_table(table)
    return 1 if any(row.ok is False for row in table) else 0


if __name__ == "__main__":
    sys.exit(main())
