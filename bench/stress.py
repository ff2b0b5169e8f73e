"""Stress of the conformance suite itself: prints a table (figure, target, measured).

    python bench/stress.py                     # the full counts (about an hour on 2 cores)
    python bench/stress.py --runs 2 --sigint 2 --sigterm 1 --daemon-faults 1 --pairs 1

1. full runs one after another: all green, the wall-time spread;
2. runs interrupted with SIGINT / SIGTERM at random points (seeded: the seed is
   printed, --seed repeats it): what each left before the next run's sweep, and
   that nothing is left after it;
3. the Docker daemon lost mid-run, through a socket proxy that is killed (the same
   fault for the client as the daemon stopping); --daemon-restart restarts the real
   daemon instead (never on a daemon others are using);
4. two sessions at once, on two images: each report as when run alone;
5. `pytest -n 2 --image=...`: refused up front in one line.

Progress goes to stderr, the table to stdout. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import docker  # noqa: E402

from conformance.tests import stress  # noqa: E402  (the repository, not an install)

Row = tuple[str, str, str, bool]  # figure, target, measured, met


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def full_runs(image: str, count: int, workdir: Path) -> tuple[list[Row], list[stress.Run]]:
    runs = stress.consecutive(image, count, workdir, progress=log)
    green = sum(r.green and r.returncode == 0 for r in runs)
    walls = [r.wall_s for r in runs]
    left = sum(stress.leftovers_of(docker.from_env(), r.pid).total for r in runs)
    tracebacks = sum(r.tracebacks for r in runs)
    return [
        (f"{count} full runs in a row: green, exit 0", f"{count}/{count}", f"{green}/{count}",
         green == count),
        ("  wall time min / median / max (s)", "—", spread(walls), True),
        ("  containers, networks, volumes left after them", "0", str(left), left == 0),
        ("  tracebacks in their output", "0", str(tracebacks), tracebacks == 0),
    ], runs  # fmt: skip


def interruptions(
    image: str, sig: signal.Signals, count: int, rng: random.Random, max_s: float, workdir: Path
) -> list[Row]:
    results = stress.interrupted(image, sig, count, rng, max_s, workdir, progress=log)
    hit = [r for r in results if r.interrupted]
    exits = [r.run.exit_after_s for r in hit if r.run.exit_after_s is not None]
    before = [r.before_sweep for r in hit]
    left_runs = sum(b.total > 0 for b in before)
    kinds = [sum(len(getattr(b, k)) for b in before) for k in ("containers", "networks", "volumes")]
    after = sum(r.after_sweep.total for r in results)
    wrong = sum(r.run.wrongly_green for r in hit)
    late = sum(r.run.green for r in hit)  # the signal came after the last check
    tracebacks = sum(r.run.tracebacks for r in results)
    startup = sum(r.run.at_startup for r in hit)
    slow = max(exits, default=0.0)
    name = sig.name
    return [
        (f"{name} at a random point of a run (0-{max_s:.0f} s)", f"{count} runs",
         f"{len(hit)} interrupted, {count - len(hit)} had finished", True),
        (f"  {name}: exit after the signal, min / median / max (s)", "≤ 35 (close waits ≤ 30)",
         spread(exits), slow <= 35),
        (f"  {name}: left before the next run's sweep (containers / networks / volumes)",
         "0 (the sweep is the safety net)",
         f"{kinds[0]} / {kinds[1]} / {kinds[2]} (after {left_runs} of {len(hit)} runs)",
         sum(kinds) == 0),
        (f"  {name}: left after the next run's sweep", "0", str(after), after == 0),
        (f"  {name}: green reports with a check cut short or not run", "0", str(wrong),
         wrong == 0),
        (f"  {name}: came after the last check (clean-up finished, report complete, green)",
         "—", str(late), True),
        (f"  {name}: tracebacks in the output", "0", str(tracebacks), tracebacks == 0),
        (f"  {name}: came while pytest was starting (its own KeyboardInterrupt traceback)",
         "—", str(startup), True),
    ]  # fmt: skip


def fault_ok(fault: stress.DaemonFault) -> bool:
    """One line naming the daemon and no traceback; or, when the daemon went after the
    last check, a complete run (its containers are the next run's to sweep)."""
    run = fault.run
    if run.tracebacks:
        return False
    if run.returncode == 0:
        return run.green
    errors = [
        line for line in fault.daemon_lines if line.startswith("ERROR:") or "Interrupted:" in line
    ]
    return len(errors) == 1 and not run.green


def daemon_faults(
    image: str,
    count: int,
    rng: random.Random,
    max_s: float,
    workdir: Path,
    restart_command: str | None,
) -> list[Row]:
    faults = []
    # A real restart is costly and shared: it lands mid-run, once the containers run.
    after_containers = restart_command is not None
    max_s = 20.0 if after_containers else max_s
    for _ in range(count):
        delay = rng.uniform(0, max_s)
        faults.append(
            stress.daemon_fault(
                image,
                workdir,
                delay,
                after_containers=after_containers,
                restart_command=restart_command,
                progress=log,
            )
        )
    how = "daemon restarted" if restart_command else "socket proxy killed"
    if after_containers:
        how += ", after the containers started"
    good = sum(fault_ok(f) for f in faults)
    after = sum(f.after_sweep.total for f in faults)
    mid = sum(f.had_containers for f in faults)
    exits = [f.run.exit_after_s for f in faults if f.run.exit_after_s is not None]
    codes = sorted({f.run.returncode for f in faults})
    return [
        (f"daemon lost at a random point ({how}, 0-{max_s:.0f} s)", f"{count} runs",
         f"{mid} with containers up, exit codes {codes}", True),
        ("  one line naming the daemon, no traceback, not green", f"{count}/{count}",
         f"{good}/{count}", good == count),
        ("  exit after the fault, min / median / max (s)", "—", spread(exits), True),
        ("  left after the next run's sweep", "0", str(after), after == 0),
    ]  # fmt: skip


def pairs(images: list[str], count: int, workdir: Path, alone: dict[str, stress.Run]) -> list[Row]:
    differing: list[str] = []
    left = 0
    walls = []
    for i in range(count):
        result = stress.concurrent(images, workdir, alone, progress=log)
        alone = result.alone
        for image, diff in result.differences().items():
            differing += [f"pair {i + 1} {image}: {k} {a}→{b}" for k, (a, b) in diff.items()]
        left += sum(x.total for x in result.left.values())
        walls += [r.wall_s for r in result.together.values()]
    for line in differing:
        log(line)
    return [
        (f"{' + '.join(images)} at once", f"{count} pairs", f"{count} pairs", True),
        ("  checks whose status differs from the run alone", "0",
         str(len(differing)) + (f" ({'; '.join(differing[:3])})" if differing else ""),
         not differing),
        ("  wall time at once, min / median / max (s)", "—", spread(walls), True),
        ("  containers left after both", "0", str(left), left == 0),
    ]  # fmt: skip


def xdist_row(image: str, workdir: Path) -> list[Row]:
    run = stress.xdist(image, workdir)
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
    refused = run.returncode == 4 and len(errors) == 1 and run.report is None
    written = "written" if run.report else "none"
    measured = f"exit {run.returncode}, {len(errors)} ERROR line(s), report {written}"
    return [("pytest -n 2 --image=…", "refused: exit 4, one line, no report", measured, refused)]


def table(rows: list[Row]) -> str:
    head = ("figure", "target", "measured")
    width = [max(len(str(r[i])) for r in [*rows, (*head, True)]) for i in range(3)]
    lines = [
        f"| {head[0]:<{width[0]}} | {head[1]:<{width[1]}} | {head[2]:<{width[2]}} |",
        f"|{'-' * (width[0] + 2)}|{'-' * (width[1] + 2)}|{'-' * (width[2] + 2)}|",
    ]
    for figure, target, measured, met in rows:
        mark = "" if met else " ✗"
        lines.append(
            f"| {figure:<{width[0]}} | {target:<{width[1]}} | {measured + mark:<{width[2]}} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="ai-video-backend:latest")
    parser.add_argument(
        "--other-image",
        default="ai-video-backend:hardened",
        help="the second image of the concurrent pairs "
        "(TARGET=hardened bash scripts/build-backend.sh hardened)",
    )
    parser.add_argument("--runs", type=int, default=20, help="full runs in a row")
    parser.add_argument("--sigint", type=int, default=20, help="runs interrupted by SIGINT")
    parser.add_argument("--sigterm", type=int, default=5, help="runs interrupted by SIGTERM")
    parser.add_argument("--daemon-faults", type=int, default=5, help="runs losing the daemon")
    parser.add_argument("--pairs", type=int, default=3, help="concurrent pairs of runs")
    parser.add_argument("--no-xdist", action="store_true", help="skip the -n 2 run")
    parser.add_argument("--seed", type=int, default=None, help="repeat an earlier run's points")
    parser.add_argument(
        "--daemon-restart",
        action="store_true",
        help="restart the REAL daemon mid-run instead of killing a proxy (stops every "
        "container on it: only on a daemon nobody else uses)",
    )
    parser.add_argument(
        "--restart-command",
        default=stress.RESTART_COMMAND,
        help="shell command that restarts the daemon, run from the repository "
        "[default: stop the dockerd of /var/run/docker.pid, then scripts/ensure-docker.sh]",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    log(f"seed {seed} (repeat with --seed {seed})")
    rng = random.Random(seed)
    rows: list[Row] = []
    # Reports and logs of every run; kept when a target is missed, to see why.
    workdir = Path(tempfile.mkdtemp(prefix="suite-stress-"))
    alone: dict[str, stress.Run] = {}
    max_s = 45.0  # about one run, when no full run measured it
    if args.runs:
        new, runs = full_runs(args.image, args.runs, workdir)
        rows += new
        max_s = max(r.wall_s for r in runs)
        alone[args.image] = runs[-1]
    for sig, count in ((signal.SIGINT, args.sigint), (signal.SIGTERM, args.sigterm)):
        if count:
            rows += interruptions(args.image, sig, count, rng, max_s, workdir)
    if args.daemon_faults:
        restart = args.restart_command if args.daemon_restart else None
        rows += daemon_faults(args.image, args.daemon_faults, rng, max_s, workdir, restart)
    if args.pairs:
        rows += pairs([args.image, args.other_image], args.pairs, workdir, alone)
    if not args.no_xdist:
        rows += xdist_row(args.image, workdir)
    print(f"seed {seed}")
    print(table(rows))
    if all(row[3] for row in rows):
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    log(f"the runs' reports and output are in {workdir}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
