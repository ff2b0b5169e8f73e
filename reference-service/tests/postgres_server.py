"""A real, throwaway PostgreSQL server for the tests, from Debian's postgresql package.

In a test module:

    from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401

`postgres_server` is session-scoped and shared: however many modules import it, one server
starts (on a free 127.0.0.1 port, trust authentication, its data and socket in a temp dir)
and is stopped and removed when the session ends. `server.url` names a database created
for the session; `server.create_database()` gives another, empty one. `server.stop()`,
`server.start()` and `server.restart()` take it down and back up on the same port.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

INSTALL_HINT = "install postgresql (apt-get install postgresql)"
SUPERUSER = "postgres"
# Durability is not what these tests check: skip the disk flushes.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}


class PostgresMissing(RuntimeError):
    pass


def _version(bin_dir: Path) -> tuple[int, ...]:
    name = bin_dir.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def find_bin_dir() -> Path:
    """Debian keeps the server programs off PATH, under /usr/lib/postgresql/<version>/bin."""
    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True):
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    raise PostgresMissing(f"initdb and pg_ctl not found: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_account() -> pwd.struct_passwd | None:
    """initdb and postgres refuse to run as root: then they run as Debian's `postgres`
    account (the package creates it), else as `nobody`. None: run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in (SUPERUSER, "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresMissing(f"running as root and no 'postgres' account: {INSTALL_HINT}")


class PostgresServer:
    """One cluster in a temp dir; started by start_new(), removed by remove()."""

    def __init__(self, bin_dir: Path, base: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.base = base
        self.data = base / "data"
        self.log = base / "server.log"
        self.port = port
        self.database = "tests"
        self._account = _server_account()

    @classmethod
    def start_new(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        # Not pytest's tmp_path: its parent is private to us, and the server account (when we
        # are root) must be able to reach the data directory and the socket.
        base = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
        server = cls(bin_dir, base, _free_port())
        try:
            server._init_cluster()
            server.start()
            server.create_database(server.database)
        except BaseException:
            server.remove()
            raise
        return server

    # --- addresses --------------------------------------------------------------------

    def url_for(self, database: str, password: str | None = None) -> str:
        # Trust authentication: a password in the URL is accepted and ignored, which lets a
        # test check that messages never show it.
        secret = f":{password}" if password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    # --- the server process -----------------------------------------------------------

    def _as_server(self, argv: Sequence[str]) -> list[str]:
        if self._account is None:
            return list(argv)
        if shutil.which("runuser"):
            return ["runuser", "-u", self._account.pw_name, "--", *argv]
        return [
            "setpriv",
            f"--reuid={self._account.pw_uid}",
            f"--regid={self._account.pw_gid}",
            "--clear-groups",
            "--",
            *argv,
        ]

    def _run(self, argv: Sequence[str], *, as_server: bool = False, timeout: float = 60) -> str:
        command = self._as_server(argv) if as_server else list(argv)
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.base,
            env={**os.environ, "LC_ALL": "C", "PGCONNECT_TIMEOUT": "5"},
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {output}")
        return done.stdout

    def _init_cluster(self) -> None:
        if self._account is not None:
            os.chown(self.base, self._account.pw_uid, self._account.pw_gid)
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            as_server=True,
        )
        settings = {
            **_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        pg_ctl = str(self.bin_dir / "pg_ctl")
        try:
            self._run(
                [pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"],
                as_server=True,
                timeout=90,
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; server log: {self.log_tail()}") from None

    def stop(self) -> None:
        """A fast shutdown, as an orchestrator restarting Postgres does: open sessions end."""
        pg_ctl = str(self.bin_dir / "pg_ctl")
        self._run(
            [pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"],
            as_server=True,
            timeout=90,
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def remove(self) -> None:
        """Stop the server if it runs and delete its files; safe to call twice."""
        if self.running():
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.base, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    # --- databases --------------------------------------------------------------------

    def sql(self, statement: str, database: str | None = None) -> str:
        """Run one statement with psql; its rows as text, one per line, fields split by |."""
        return self._run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database or self.database,
                "-c",
                statement,
            ]
        ).strip()

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; its name."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f'CREATE DATABASE "{name}"', database="postgres")
        return name


_SERVER = pytest.StashKey[PostgresServer]()


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    """The session's PostgreSQL server (started on first use, removed at the end)."""
    config = request.config
    shared = config.stash.get(_SERVER, None)
    if shared is not None:
        return shared
    try:
        server = PostgresServer.start_new()
    except (PostgresMissing, RuntimeError) as exc:
        prefix = "" if isinstance(exc, PostgresMissing) else "cannot start a test PostgreSQL: "
        problem = f"{prefix}{exc}"
    else:
        config.stash[_SERVER] = server
        # On the config, not the fixture: modules that each import the fixture share one server.
        config.add_cleanup(server.remove)
        return server
    pytest.fail(problem, pytrace=False)  # outside the except block: no chained traceback
