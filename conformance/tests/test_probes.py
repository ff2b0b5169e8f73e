"""The fact gatherers on their own, without Docker: each is fed a failure (a missing
file, a failing exec, a broken listing) and must say so, never "nothing found"."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import docker.errors
import pytest

from conformance.probes import FactError, tools
from conformance.probes.accounts import parse_passwd, supplementary_gids
from conformance.probes.filesystem import ImageFilesystem, writable_by
from conformance.probes.process import parse_top

PASSWD = b"root:x:0:0::/root:/bin/sh\nappuser:x:10001:10001::/app:/usr/sbin/nologin\n"
GROUP = b"root:x:0:\nappuser:x:10001:\nvideo:x:44:appuser,other\n"


def _tar(*members: tuple[str, str, int, bytes | str]) -> list[bytes]:
    """(name, kind, mode, content or link target) -> the chunks of a tar stream."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, mode, payload in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
                tar.addfile(info)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    return [data[i : i + 1000] for i in range(0, len(data), 1000)]  # as the SDK streams it


@pytest.fixture(scope="module")
def fs() -> ImageFilesystem:
    chunks = _tar(
        ("usr", "dir", 0o755, b""),
        ("usr/bin", "dir", 0o755, b""),
        ("bin", "symlink", 0o777, "usr/bin"),
        ("usr/bin/gcc-14", "file", 0o755, b"\x7fELF"),
        ("usr/bin/gcc", "symlink", 0o777, "gcc-14"),
        ("usr/bin/su", "file", 0o4755, b"\x7fELF"),
        ("usr/bin/notes", "file", 0o644, b"not executable"),
        ("etc", "dir", 0o755, b""),
        ("etc/passwd", "file", 0o644, PASSWD),
        ("etc/group", "file", 0o644, GROUP),
        ("var/lib/apt/lists/deb_Packages", "file", 0o644, b"x"),
        ("var/lib/apt/lists/partial", "dir", 0o755, b""),
        ("app/temp", "dir", 0o777, b""),
        ("app/code.py", "file", 0o644, b"print()"),
    )
    return ImageFilesystem.from_tar(chunks, ["/etc/passwd", "/etc/group"])


def test_paths_resolve_through_symlinks_inside_the_image(fs: ImageFilesystem) -> None:
    assert fs.resolve("/bin/gcc") == "/usr/bin/gcc-14"
    assert fs.which("gcc", "/nope:/bin") == "/bin/gcc"
    assert fs.which("notes", "/usr/bin") is None  # not executable
    assert fs.which("make", "/usr/bin:/bin") is None
    assert fs.resolve("/bin/../../etc/passwd") == "/etc/passwd"  # /bin/.. is /usr, as in Linux


def test_setuid_globs_and_listings(fs: ImageFilesystem) -> None:
    assert fs.setuid_files() == ["/usr/bin/su"]
    assert fs.glob("/var/lib/apt/lists/*_Packages*") == ["/var/lib/apt/lists/deb_Packages"]
    assert fs.glob("/var/lib/*/lists") == ["/var/lib/apt/lists"]
    assert fs.glob("/root/.cache/pip") == []
    assert fs.listdir("/app") == ["code.py", "temp"]


def test_a_file_that_is_missing_or_not_kept_is_an_error_not_empty(fs: ImageFilesystem) -> None:
    assert "appuser" in fs.read_text("/etc/passwd")
    with pytest.raises(FactError, match="does not exist"):
        fs.read_text("/etc/shadow")
    with pytest.raises(FactError, match="was not read"):
        fs.read_text("/app/code.py")
    with pytest.raises(FactError, match="not a regular file"):
        fs.read_text("/app/temp")


def test_a_broken_or_empty_export_is_an_error() -> None:
    with pytest.raises(FactError, match="could not be read"):
        ImageFilesystem.from_tar([b"this is not a tar archive" * 40])
    with pytest.raises(FactError):
        ImageFilesystem.from_tar([])


def test_write_permission_follows_owner_group_and_mode(fs: ImageFilesystem) -> None:
    temp, code = fs.lookup("/app/temp"), fs.lookup("/app/code.py")
    assert temp is not None and code is not None
    assert writable_by(temp, 10001, {10001})  # world-writable
    assert not writable_by(code, 10001, {10001})  # root's, 0644
    assert writable_by(code, 0, set())


def test_accounts() -> None:
    passwd = parse_passwd(PASSWD.decode())
    assert passwd["appuser"].uid == 10001 and passwd["appuser"].home == "/app"
    assert supplementary_gids(GROUP.decode(), "appuser") == {44}


TOP = {
    "Titles": ["PID", "RUID", "EUID", "SUID", "FSUID", "RGID", "EGID", "SGID", "FSGID", "COMMAND"],
    "Processes": [["4242", "10001", "10001", "10001", "10001", "10001", "10001", "10001",
                   "10001", "python -m app"]],
}  # fmt: skip


def test_pid1_identity_from_the_engines_process_list() -> None:
    identity = parse_top(TOP, 4242)
    assert identity.uids == (10001,) * 4 and identity.command == "python -m app"


@pytest.mark.parametrize(
    ("top", "pid", "reason"),
    [
        (TOP, 1, "not in the engine's process list"),
        ({"Titles": ["UID", "PID"], "Processes": []}, 4242, "unexpected columns"),
        ({**TOP, "Processes": [["4242", "root", *["0"] * 7, "x"]]}, 4242, "not numbers"),
    ],
)
def test_pid1_identity_that_cannot_be_read_is_an_error(
    top: dict[str, Any], pid: int, reason: str
) -> None:
    with pytest.raises(FactError, match=reason):
        parse_top(top, pid)


class FakeContainer:
    """exec_run answers as the engine does."""

    def __init__(self, exit_code: int, output: tuple[bytes | None, bytes | None] | Exception):
        self.answer = (exit_code, output)

    def exec_run(self, argv: list[str], user: str = "", demux: bool = False) -> Any:
        exit_code, output = self.answer
        if isinstance(output, Exception):
            raise output
        return type("ExecResult", (), {"exit_code": exit_code, "output": output})()


def test_a_tool_run_reports_its_output() -> None:
    run = tools.run(FakeContainer(0, (b"ffmpeg version 7.1\n", None)), ["ffmpeg", "-version"])
    assert run.ok and run.stdout.startswith("ffmpeg version")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((126, (b'OCI runtime exec failed: exec failed: unable to start container process: '
                b'exec: "ffprobe": executable file not found in $PATH: unknown\r\n', None)),
         "ffprobe is not in the image"),
        ((126, (b"OCI runtime exec failed: exec failed: unable to start container process: "
                b"eaccess /usr/local/bin/ffprobe: permission denied: unknown\r\n", None)),
         "not executable by user appuser"),
        ((1, (None, b"Unknown encoder 'libx264'\n")), "exit 1: Unknown encoder 'libx264'"),
    ],
)  # fmt: skip
def test_a_tool_that_does_not_run_is_a_failed_run(answer: Any, expected: str) -> None:
    run = tools.run(FakeContainer(*answer), ["ffprobe", "-version"], user="appuser")
    assert not run.ok and expected in run.why()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((126, (b"unable to find user appuser: no matching entries in passwd file\r\n", None)),
         "user 'appuser' does not exist in the image"),
        # the same words may come on the other stream
        ((126, (None, b"unable to find user appuser: no matching entries in passwd file\r\n")),
         "user 'appuser' does not exist in the image"),
        ((0, docker.errors.APIError("container is not running")), "could not be run"),
    ],
)  # fmt: skip
def test_an_exec_that_cannot_happen_is_an_error(answer: Any, reason: str) -> None:
    with pytest.raises(FactError, match=reason):
        tools.run(FakeContainer(*answer), ["ffmpeg", "-version"], user="appuser")


def test_a_tool_that_hangs_is_a_run_without_an_exit_code() -> None:
    class Hangs:
        def exec_run(self, *args: Any, **kwargs: Any) -> Any:
            import time

            time.sleep(2)

    run = tools.run(Hangs(), ["ffmpeg"], timeout_s=0.2)
    assert run.rc is None and "no answer" in run.why()


@pytest.mark.parametrize(
    ("line", "unclean"),
    [
        ("2026-01-01 ERROR app: boom", True),
        ("error: the upload directory is not writable", True),
        ("Warning: deprecated setting", True),
        ("[WARNING] slow request", True),
        ("Traceback (most recent call last):", True),
        ("[INFO] Error while closing socket [Errno 9] Bad file descriptor", False),
        ("GET /api/v1/errors 200", False),
        ("INFO: the warnings module is quiet", False),
    ],
)
def test_log_lines_by_level_in_any_case(line: str, unclean: bool) -> None:
    from conformance.checks.test_logs import unclean as is_unclean

    assert is_unclean(line, []) is unclean
