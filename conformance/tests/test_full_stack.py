"""DEP-COMPOSE-FULL's stack driver fed failures, without Docker: a compose that fails or
hangs, a service that exits or never gets healthy, a port or container that is not
there, and what `down` leaves behind. Each is one line (StackError), never a pass."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.full_stack import SERVICE_LABEL, Stack, StackError, StackSpec


def fake_compose(tmp_path: Path, body: str) -> list[str]:
    """A compose command: a script that records its arguments, then runs ``body``."""
    script = tmp_path / "compose"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return [str(script)]


class FakeContainer:
    def __init__(self, service: str, state: dict[str, Any], logs: bytes = b"") -> None:
        self.name = f"p-{service}-1"
        self.service = service
        self.attrs: dict[str, Any] = {
            "State": state,
            "NetworkSettings": {"Ports": {}},
            "Config": {"Labels": {SERVICE_LABEL: service}},
        }
        self._logs = logs

    def reload(self) -> None:
        pass

    def logs(self, tail: int) -> bytes:
        return self._logs

    def exec_run(self, argv: list[str], user: str, demux: bool) -> Any:
        return SimpleNamespace(exit_code=0, output=b"succeeded\n")


class FakeClient:
    """The engine's listings, as the stack asks for them: by project (and service) label."""

    def __init__(self, containers: list[FakeContainer], networks: tuple[str, ...] = ()) -> None:
        self._containers = containers
        self.containers = SimpleNamespace(list=self._list)
        self.networks = SimpleNamespace(
            list=lambda filters: [SimpleNamespace(name=name) for name in networks]
        )
        self.volumes = SimpleNamespace(list=lambda filters: [])

    def _list(self, all: bool, filters: dict[str, Any]) -> list[FakeContainer]:
        labels = filters["label"]
        labels = [labels] if isinstance(labels, str) else labels
        wanted = [label.split("=", 1)[1] for label in labels if label.startswith(SERVICE_LABEL)]
        return [c for c in self._containers if not wanted or c.service == wanted[0]]


def make_stack(tmp_path: Path, command: list[str], client: Any = None) -> Stack:
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text("services: {}\n")
    spec = StackSpec(command, [compose_file], "p", "full", {"PATH": "/usr/bin:/bin"}, {"l": "1"})
    return Stack(spec, client or FakeClient([]), tmp_path)


def test_a_compose_that_fails_is_one_line_with_its_stderr(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, fake_compose(tmp_path, 'echo "no such image:\n x" >&2; exit 1'))
    with pytest.raises(StackError) as failed:
        stack.up(["api"], {"worker": 0}, timeout_s=10)
    assert str(failed.value) == "`compose up` failed: no such image: x"


def test_a_compose_that_hangs_is_cut_off(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, fake_compose(tmp_path, "sleep 30"))
    with pytest.raises(StackError, match=r"`compose config` gave no answer in 0.5 s"):
        stack.compose("config", timeout_s=0.5)


def test_every_compose_call_names_the_project_profile_and_the_label_override(
    tmp_path: Path,
) -> None:
    stack = make_stack(tmp_path, fake_compose(tmp_path, "echo api worker"))
    assert stack.services() == ["api", "worker"]
    stack.label_every_service(["api", "worker"])
    override = json.loads(stack.override.read_text())
    assert override["services"]["worker"]["labels"] == {"l": "1"}
    assert override["networks"]["default"]["labels"] == {"l": "1"}
    stack.up(["worker"], {"worker": 2}, timeout_s=10)
    last = (tmp_path / "calls").read_text().splitlines()[-1]
    assert f"-f {stack.override}" in last
    assert "-p p --profile full up -d --no-recreate --scale worker=2 worker" in last


def test_a_service_that_exits_is_named_with_its_exit_code_and_log(tmp_path: Path) -> None:
    exited = FakeContainer("api", {"Status": "exited", "ExitCode": 3}, b"cannot start: no db\n")
    stack = make_stack(tmp_path, ["true"], FakeClient([exited]))
    with pytest.raises(StackError) as failed:
        stack.wait_healthy(["api"], deadline_s=5)
    assert str(failed.value) == "api exited with 3: cannot start: no db"


@pytest.mark.parametrize(
    ("containers", "shown"),
    [
        ([], "api (not created)"),
        ([FakeContainer("api", {"Status": "running", "Health": {"Status": "starting"}})],
         "api (starting)"),
        ([FakeContainer("api", {"Status": "running", "Health": {"Status": "unhealthy"}})],
         "api (unhealthy)"),
    ],
)  # fmt: skip
def test_a_service_never_healthy_times_out_naming_it(
    tmp_path: Path, containers: list[FakeContainer], shown: str
) -> None:
    stack = make_stack(tmp_path, ["true"], FakeClient(containers))
    with pytest.raises(StackError) as failed:
        stack.wait_healthy(["api"], deadline_s=0.2)
    assert str(failed.value).startswith(f"not healthy within 0.2 s: {shown}; api logs: ")


def test_healthy_and_running_without_a_healthcheck_both_count(tmp_path: Path) -> None:
    containers = [
        FakeContainer("api", {"Status": "running", "Health": {"Status": "healthy"}}),
        FakeContainer("worker", {"Status": "running"}),
    ]
    stack = make_stack(tmp_path, ["true"], FakeClient(containers))
    assert stack.wait_healthy(["api", "worker"], deadline_s=1) < 1


def test_no_published_port_and_no_container_are_errors(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, ["true"], FakeClient([FakeContainer("api", {})]))
    with pytest.raises(StackError, match="api publishes no host port for container port 8000"):
        stack.published_port("api", 8000)
    with pytest.raises(StackError, match="no postgres container to run psql in"):
        stack.exec("postgres", ["psql"])


def test_down_reports_what_is_left_of_the_project(tmp_path: Path) -> None:
    left = FakeContainer("worker", {"Status": "running"})
    stack = make_stack(tmp_path, fake_compose(tmp_path, "true"), FakeClient([left], ("p_default",)))
    stack.label_every_service(["worker"])
    assert stack.down() == ["container p-worker-1", "network p_default"]
    assert not stack.override.exists()
