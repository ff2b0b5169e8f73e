"""pytest hooks of the conformance suite: options, header, collection, reports.

The work lives elsewhere: settings.py resolves options, container.py runs
containers, fixtures.py hands them to the checks, report.py writes the reports.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import CHECKS
from conformance.session import STATE, SuiteState
from conformance.settings import PROFILE, SETTINGS, resolve, suite_requested
from conformance.verdict import WAIVED_PREFIX, check_id_of

pytest_plugins = ["conformance.fixtures"]

CHECKS_DIR = Path(__file__).parent / "checks"
# Long waits go last so that everything else overlaps with them; logs are read after the stop.
# The image's own probe is tried first, before Docker's first scheduled probe.
_LATE = {"RUN-HEALTHCHECK-CMD": 0, "RUN-STARTS": 2, "RUN-DOCKER-HEALTHY": 3, "RUN-GRACEFUL-STOP": 4}


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
    state = SuiteState()
    config.stash[STATE] = state
    config.pluginmanager.register(_Recorder(state), "conformance-recorder")
    if not suite_requested(config):
        return
    state.resolved = resolve(config, set(CHECKS))
    if not state.resolved.image:
        raise pytest.UsageError(_NO_IMAGE)
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(CHECKS_DIR)]  # `pytest --image=X` runs the suite, wherever it is
    _interrupt_on_sigterm()


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
    resolved = state.resolved
    values = resolved.report_values()
    lines = ["conformance settings (value [source]):"]
    for key in ("suite.image", "suite.profile", *(f"suite.{s.key}" for s in SETTINGS[1:])):
        lines.append(f"  {key} = {values[key]['value']!r} [{values[key]['source']}]")
    for section in ("image", "fs", "ffmpeg", "runtime", "spa", "logs", "deploy"):
        parts = [
            f"{key.split('.', 1)[1]}={value['value']!r}"
            + ("" if value["source"] == "default" else f" [{value['source']}]")
            for key, value in values.items()
            if key.startswith(f"{section}.")
        ]
        lines.append(f"  [{section}] (default unless marked) " + ", ".join(parts))
    for check_id, reason in resolved.profile.waivers.items():
        lines.append(f"  waiver {check_id}: {reason}")
    return lines


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
    keep, dropped = [], []
    for item in items:
        check_id = check_id_of(item)
        if check_id in excluded:
            dropped.append(item)
            state.book.not_selected(
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


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if not (report.skipped and isinstance(report.longrepr, tuple)):
        return None
    if str(report.longrepr[2]).removeprefix("Skipped: ").startswith(WAIVED_PREFIX):
        return "waived", "w", "WAIVED"
    return None


class _Recorder:
    """Feeds every check's reports into the session's result book."""

    def __init__(self, state: SuiteState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check_id = dict(report.user_properties).get("check_id")
        if check_id is not None:
            self.state.book.add(str(check_id), report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from conformance.startup import finish_suite

    state = session.config.stash.get(STATE, None)
    if state is not None and state.active:
        finish_suite(session.config, state)


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
    for path in state.written:
        terminalreporter.write_line(f"conformance report: {path}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.lab is not None:
        state.lab.close()
