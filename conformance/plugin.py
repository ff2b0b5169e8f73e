"""pytest hooks of the conformance suite: options, header, collection, reports.

The work lives elsewhere: settings.py resolves options, container.py runs
containers, fixtures.py hands them to the checks, report.py writes the reports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.catalogue import CHECKS, SEED, SEED_IDS
from conformance.header import header_lines
from conformance.policy import PolicyError, load_policy
from conformance.schema import Policy, named
from conformance.selection import SelectionError, keywords, matches, parse_patterns
from conformance.session import STATE, SuiteState
from conformance.settings import PROFILE, SETTINGS, Resolved, resolve, suite_requested
from conformance.verdict import WAIVED_PREFIX, check_id_of

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

    from conformance.daemon import DaemonWatch

pytest_plugins = ["conformance.fixtures"]

CHECKS_DIR = Path(__file__).parent / "checks"
# Long waits go last so that everything else overlaps with them; logs are read after the stop.
# The image's own probe is tried first, before Docker's first scheduled probe.
# RUN-LATENCY measures after RUN-STARTS' wait, once the variants have started.
_LATE = {
    "RUN-HEALTHCHECK-CMD": 0,
    "RUN-STARTS": 2,
    "RUN-LATENCY": 2,
    "RUN-DOCKER-HEALTHY": 3,
    "RUN-GRACEFUL-STOP": 4,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "image conformance suite")
    for setting in (*SETTINGS, PROFILE):
        extra: dict[str, Any] = {"action": "store_true"} if setting.kind == "bool" else {}
        group.addoption(
            setting.flag,
            dest=setting.dest,
            default=None,
            help=f"{setting.help} [env {setting.env}, ini {setting.ini}]",
            **extra,
        )
        parser.addini(setting.ini, f"{setting.help} (see {setting.flag})", default="")
    group.addoption(
        "--check",
        dest="conformance_check",
        action="append",
        default=None,
        metavar="ID",
        help="run only these checks (repeatable; IDs or globs, e.g. --check 'FS-*'); "
        "the report is then a selection, never releasable",
    )
    group.addoption(
        "--conformance-policy",
        dest="conformance_policy",
        default=None,
        metavar="FILE",
        help="policy TOML: the waivers, exclusions, overrides and skips this run accepts "
        "[env CONFORMANCE_POLICY; default: only the profile's own waivers]",
    )


def _phase(item: pytest.Item) -> int:
    check_id = check_id_of(item) or ""
    if check_id.startswith("IMG-"):
        return 0
    if check_id.startswith("LOG-"):
        return 5
    return _LATE.get(check_id, 1)


def _is_check(item: pytest.Item) -> bool:
    return check_id_of(item) is not None


def _interrupt_on_sigterm() -> None:
    # A CI runner cancelling the job sends SIGTERM: clean up as for Ctrl-C.
    if threading.current_thread() is threading.main_thread():

        def handler(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, handler)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(id): the contract check ID this test implements")
    config.addinivalue_line("markers", "browser: needs a headless Chromium")
    config.addinivalue_line("markers", "seed: one of the seed document's nine smoke tests")
    state = SuiteState()
    config.stash[STATE] = state
    config.pluginmanager.register(_Recorder(state, config), "conformance-recorder")
    if not suite_requested(config):
        return
    _refuse_distribution(config)
    state.resolved = resolve(config, set(CHECKS))
    try:
        state.selection.patterns = parse_patterns(config.getoption("conformance_check"))
    except SelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not state.resolved.image:
        raise pytest.UsageError(_NO_IMAGE)
    state.policy = _run_policy(config, state.resolved)
    state.signer = _run_signer(config, state.resolved)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(CHECKS_DIR)]  # `pytest --image=X` runs the suite, wherever it is
    _interrupt_on_sigterm()


def _refuse_distribution(config: pytest.Config) -> None:
    """A suite run is one session: pytest-xdist workers would each start the containers
    and write the report with only their share of the checks (a wrong report)."""
    if hasattr(config, "workerinput"):
        raise pytest.UsageError(_NO_XDIST)
    if config.getoption("dist", "no") != "no" and config.getoption("tx", None):
        raise pytest.UsageError(_NO_XDIST)


_NO_XDIST = (
    "the conformance suite runs as one session: pytest-xdist (-n/--dist) cannot split it; "
    "run it without -n (or with -n 0 or -p no:xdist)"
)


def _run_policy(config: pytest.Config, resolved: Resolved) -> Policy:
    """The allowances this run's verdict uses: a policy file, else the profile's waivers."""
    raw = config.getoption("conformance_policy") or os.environ.get("CONFORMANCE_POLICY")
    if not raw:
        return Policy(
            waivers=frozenset(resolved.profile.waivers), source="the profile's own waivers"
        )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise pytest.UsageError(str(exc)) from None


def _run_signer(config: pytest.Config, resolved: Resolved) -> Signer | None:
    """The key that signs the attestation: checked before any container starts."""
    from conformance.attestation import SIGNING_KEY_ENV, AttestationError, load_signer

    key_file = None
    if resolved.signing_key:
        key_file = Path(resolved.signing_key).expanduser()
        if not key_file.is_absolute():
            key_file = Path(config.invocation_params.dir) / key_file
        if not resolved.attestation:
            raise pytest.UsageError(
                "--conformance-signing-key signs nothing without --conformance-attestation PATH"
            )
    if not resolved.attestation:
        return None
    try:
        signer = load_signer(key_file, os.environ)
    except AttestationError as exc:
        raise pytest.UsageError(str(exc)) from None
    if signer is None:
        raise pytest.UsageError(
            "--conformance-attestation needs a signing key: --conformance-signing-key FILE or "
            f"the PEM in {SIGNING_KEY_ENV} (make a pair: python -m conformance.attestation "
            "keygen DIR)"
        )
    return signer


_NO_IMAGE = (
    "no image to check: pass --image=IMAGE (or set CONFORMANCE_IMAGE, "
    "ini conformance_image, or suite.image in the profile)"
)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Without a requested suite, a plain `pytest` in the repository skips the checks.
    state = config.stash.get(STATE, None)
    if state is None or state.resolved is not None:
        return None
    if collection_path == CHECKS_DIR and config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    return None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE, None)
    if state is None or state.resolved is None:
        return None
    lines = header_lines(state.resolved, verbose=config.get_verbosity() > 0)
    return [*lines, f"  verdict policy: {state.policy.source}"]


def pytest_itemcollected(item: pytest.Item) -> None:
    # Before -k and -m deselect: the ID is a keyword, the seed's checks carry a marker.
    check_id = check_id_of(item)
    if check_id is None:
        return
    item.extra_keyword_matches.update(keywords(check_id))
    if check_id in SEED_IDS:
        item.add_marker(pytest.mark.seed)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash[STATE]
    checks = [item for item in items if _is_check(item)]
    if not checks:
        return
    if state.resolved is None or not state.resolved.image:
        return  # pytest_collection_finish reports it (a usage error raised here is not clean)
    resolved = state.resolved
    excluded = set(resolved.exclude)
    patterns = state.selection.patterns
    keep, dropped = [], []
    for item in items:
        check_id = check_id_of(item)
        if check_id is not None and patterns and not matches(check_id, patterns):
            dropped.append(item)  # pytest_deselected records it
            continue
        if check_id in excluded:
            dropped.append(item)
            state.book.exclude(
                check_id, f"excluded by suite.exclude [{resolved.sources['exclude']}]"
            )
            continue
        keep.append(item)
        if check_id is None:
            continue
        item.user_properties.append(("check_id", check_id))
        reason = resolved.profile.waivers.get(check_id)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"{WAIVED_PREFIX}{reason}"))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    keep.sort(key=_phase)
    items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    from conformance.startup import start_suite

    state = session.config.stash[STATE]
    checks = [item for item in session.items if _is_check(item)]
    if not checks:
        return
    if state.resolved is None or not state.resolved.image:
        raise pytest.UsageError(_NO_IMAGE)
    if session.config.option.collectonly:
        return
    start_suite(session.config, state, checks)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    watch = _watch(item.config)
    if watch is not None and report.failed:
        why = watch.confirm(call.excinfo.value if call.excinfo else None)
        if why is not None:  # the client library's traceback says nothing about the image
            report.longrepr = (
                f"could not establish the fact: the Docker daemon went away during this "
                f"check ({why})"
            )
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    result = yield
    watch = _watch(item.config)
    if watch is not None and watch.lost is not None:
        # Every check left would fail on the missing daemon: one line instead.
        item.session.shouldstop = (
            f"the Docker daemon went away mid-run ({watch.lost}); the run stops here, "
            "not green, and the next run removes what it left"
        )
    return result


def _watch(config: pytest.Config) -> DaemonWatch | None:
    state = config.stash.get(STATE, None)
    return None if state is None else state.watch


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if not (report.skipped and isinstance(report.longrepr, tuple)):
        return None
    if str(report.longrepr[2]).removeprefix("Skipped: ").startswith(WAIVED_PREFIX):
        return "waived", "w", "WAIVED"
    return None


class _Recorder:
    """Feeds every check's reports into the session's result book."""

    def __init__(self, state: SuiteState, config: pytest.Config) -> None:
        self.state = state
        self.config = config

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        # --check, -k, -m and --deselect all end here; suite.exclude was recorded already.
        how = self._how_deselected()
        for item in items:
            check_id = check_id_of(item)
            if check_id is not None and self.state.book.results.get(check_id) is None:
                self.state.selection.leave_out(check_id, how)
                self.state.book.exclude(check_id, f"excluded: not selected ({how})")

    def _how_deselected(self) -> str:
        config = self.config
        ways = []
        if self.state.selection.patterns:
            ways.append("--check " + ",".join(self.state.selection.patterns))
        if config.option.keyword:
            ways.append(f"-k {config.option.keyword!r}")
        if config.option.markexpr:
            ways.append(f"-m {config.option.markexpr!r}")
        if config.getoption("deselect", None):
            ways.append("--deselect")
        return ", ".join(ways) or "deselected"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check_id = dict(report.user_properties).get("check_id")
        if check_id is not None:
            self.state.book.add(str(check_id), report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from conformance.startup import finish_suite

    state = session.config.stash.get(STATE, None)
    if state is not None and state.active:
        with _signals_deferred() as caught:
            finish_suite(session.config, state)
        if caught:
            state.late_signal = True
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        # One definition of green: a run that is not green never exits 0, even when
        # no test failed (blocked, excluded, skipped without allowance, a deviation).
        not_green = state.report is not None and not state.report["green"]
        if not_green and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.active:
        return
    wall = time.monotonic() - state.started_mono
    counts: dict[str, int] = {}
    for result in state.book.results.values():
        counts[result.status] = counts.get(result.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    terminalreporter.write_line(f"conformance: {summary}; suite wall time {wall:.1f} s")
    if state.report is not None:
        verdict = state.report["verdict"]
        line = "green" if verdict["green"] else "NOT green: " + named(verdict["reasons"])
        terminalreporter.write_line(f"conformance verdict: {line} (policy: {state.policy.source})")
    if state.selection.left_out:
        terminalreporter.write_line(
            f"conformance: a selection ({len(CHECKS) - len(state.selection.left_out)} of "
            f"{len(CHECKS)} checks): not a releasable report"
        )
    if "seed" in (config.option.markexpr or ""):
        _seed_summary(terminalreporter, state)
    for path in state.written:
        terminalreporter.write_line(f"conformance report: {path}")
    if state.late_signal:
        terminalreporter.write_line(
            "conformance: interrupted while cleaning up: the clean-up and the report were "
            "finished first"
        )


def _seed_summary(terminalreporter: Any, state: SuiteState) -> None:
    """The seed's nine tests by their own names, each with the checks that decide it."""
    terminalreporter.write_line("seed smoke tests:")
    for name, ids in SEED.items():
        statuses = [
            state.book.results[i].status if i in state.book.results else "not run" for i in ids
        ]
        worst = next(
            (
                s
                for s in ("failed", "error", "blocked", "not run", "excluded", "skipped", "waived")
                if s in statuses
            ),
            "passed",
        )
        terminalreporter.write_line(f"  {worst.upper():7} {name} ({', '.join(ids)})")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.lab is not None:
        with _signals_deferred():
            state.lab.close()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """Ctrl-C or SIGTERM while the session removes its containers and writes its report
    is acted on once that is done (it cut both short, with a traceback); a second one
    interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    caught: list[int] = []

    def defer(signum: int, frame: Any) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, defer)
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
