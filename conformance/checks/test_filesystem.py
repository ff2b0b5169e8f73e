"""FS: the image's filesystem (exported, no shell needed), PID 1's identity read by
the engine, and the image's Python run by argv in the suite's idle container."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.fixtures import Account, ToolRunner, establish, find_account
from conformance.probes.accounts import PasswdEntry
from conformance.probes.filesystem import ImageFilesystem, writable_by
from conformance.probes.process import ProcessIdentity, pid1_identity
from conformance.profile import Profile
from conformance.verdict import Check, blocked


@pytest.mark.check("FS-APPUSER")
def test_app_user(image_passwd: dict[str, PasswdEntry], contract: Profile, check: Check) -> None:
    fs = contract.fs
    user = contract.image.user
    entry = find_account(image_passwd, user)
    fix = (
        f"create it with `useradd --uid 10001 --gid 10001 --home-dir {fs.home} "
        f"--no-create-home --shell /usr/sbin/nologin {user}`"
    )
    if entry is None:
        check.fail(f"no user {user} in /etc/passwd", f"user {user}", fix)
    measured = f"{user}: uid {entry.uid}, gid {entry.gid}, home {entry.home}, shell {entry.shell}"
    expected = (
        f"uid and gid ≥ {fs.min_uid}, home {fs.home}, shell one of {', '.join(fs.nologin_shells)}"
    )
    check.expect(
        entry.uid >= fs.min_uid
        and entry.gid >= fs.min_uid
        and entry.home.rstrip("/") == fs.home.rstrip("/")
        and entry.shell in fs.nologin_shells,
        measured,
        expected,
        fix,
    )


@pytest.fixture(scope="session")
def pid1(app_start: Any) -> ProcessIdentity:
    """PID 1 of the app container as started (serving or not), read by the engine."""
    if app_start.start_error is not None:
        blocked("RUN-STARTS", f"the app container did not start: {app_start.start_error}")
    if not app_start.running():
        app_start.container.reload()
        blocked(
            "RUN-STARTS",
            f"the app container exited with code {app_start.container.attrs['State']['ExitCode']}"
            ": PID 1 has no identity to read",
        )
    return establish(lambda: pid1_identity(app_start.container))


@pytest.mark.check("FS-PID1-USER")
def test_pid1_user(
    pid1: ProcessIdentity, app_account: Account, contract: Profile, check: Check
) -> None:
    want = app_account.entry
    measured = (
        f"PID 1 `{pid1.command[:80]}` runs as uid {'/'.join(map(str, pid1.uids))} "
        f"gid {'/'.join(map(str, pid1.gids))}"
    )
    # Never root, whatever the profile says: an invariant of the contract.
    check.expect(
        0 not in pid1.uids
        and all(uid == want.uid for uid in pid1.uids)
        and all(gid == want.gid for gid in pid1.gids),
        measured,
        f"uid {want.uid} gid {want.gid} ({contract.image.user}, its own group; never root)",
        f"run the server as `USER {contract.image.user}:{contract.image.user}`, without a "
        "root group or a privileged wrapper",
    )


@pytest.mark.check("FS-WRITABLE")
def test_data_dirs_writable(unwritable_dirs: list[str], contract: Profile, check: Check) -> None:
    failing = unwritable_dirs
    check.expect(
        not failing,
        f"not writable by {contract.image.user}: {', '.join(failing)}"
        if failing
        else "all writable",
        f"writable by {contract.image.user}: {', '.join(contract.fs.writable_dirs)}",
        f"`mkdir -p` them and `chown {contract.image.user}:{contract.image.user}` in the "
        "Dockerfile",
    )


@pytest.mark.check("FS-READONLY-CODE")
def test_code_read_only(
    image_fs: ImageFilesystem, app_account: Account, contract: Profile, check: Check
) -> None:
    missing = [path for path in contract.fs.readonly_dirs if not image_fs.is_dir(path)]
    writable = [
        entry.path
        for path in contract.fs.readonly_dirs
        for entry in image_fs.under(path)
        if entry.kind in ("file", "dir")
        and writable_by(entry, app_account.entry.uid, set(app_account.gids))
    ]
    fix = (
        "leave code and venv owned by root (COPY without --chown, no chmod) so a compromised "
        "app cannot rewrite itself"
    )
    if missing:
        check.fail(
            f"{', '.join(missing)} not in the image",
            f"directories {', '.join(contract.fs.readonly_dirs)} (profile fs.readonly_dirs)",
            "point fs.readonly_dirs at the image's code and venv, or " + fix,
        )
    check.expect(
        not writable,
        f"writable by {contract.image.user}: {', '.join(writable[:5])}"
        + (f" and {len(writable) - 5} more" if len(writable) > 5 else "")
        if writable
        else f"none of {sum(1 for p in contract.fs.readonly_dirs for _ in image_fs.under(p))} "
        "entries writable",
        f"nothing under {', '.join(contract.fs.readonly_dirs)} writable by {contract.image.user}",
        fix,
    )


@pytest.mark.check("FS-NO-BUILD-TOOLS")
def test_no_build_tools(
    image_fs: ImageFilesystem, search_path: str, contract: Profile, check: Check
) -> None:
    found = [
        located
        for tool in contract.fs.build_tools
        if (located := image_fs.which(tool, search_path)) is not None
    ]
    check.expect(
        not found,
        f"found {', '.join(found)}" if found else f"none on PATH {search_path}",
        f"none of {', '.join(contract.fs.build_tools)}",
        "install build tools only in a builder stage and copy its outputs into the runtime stage",
    )


@pytest.mark.check("FS-NO-CACHES")
def test_no_caches(image_fs: ImageFilesystem, contract: Profile, check: Check) -> None:
    found = [path for pattern in contract.fs.cache_globs for path in image_fs.glob(pattern)]
    check.expect(
        not found,
        f"left behind: {', '.join(found[:5])}" + (" …" if len(found) > 5 else "")
        if found
        else "none",
        "no apt lists, apt archives or pip caches",
        "end each apt RUN with `rm -rf /var/lib/apt/lists/*` and use `pip install --no-cache-dir`",
    )


@pytest.mark.check("FS-SETUID")
def test_no_setuid(
    image_fs: ImageFilesystem, search_path: str, contract: Profile, check: Check
) -> None:
    unexpected = [p for p in image_fs.setuid_files() if p not in contract.fs.setuid_allowlist]
    sudo = image_fs.which("sudo", search_path)
    if sudo:
        unexpected.append(sudo)
    check.expect(
        not unexpected,
        f"found {', '.join(unexpected)}" if unexpected else "none beyond the allowlist",
        f"none beyond {contract.fs.setuid_allowlist or 'an empty allowlist'}, no sudo",
        "drop the bits in the Dockerfile (`find / -xdev -perm /6000 -type f -exec chmod a-s {} +`) "
        "and do not install sudo",
    )


# One run of the image's Python gathers what FS-PYTHON and FS-PIP-CHECK read: its
# version, `pip check` (or, without pip, the same from importlib.metadata), and which
# required modules fail to import.
_PYTHON_FACTS = """
import importlib, importlib.metadata as md, json, re, subprocess, sys
modules = json.loads(sys.argv[1])
facts = {"version": "%d.%d" % sys.version_info[:2], "imports": {}}
try:
    import pip  # noqa: F401
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    facts["pip_check"] = "" if done.returncode == 0 else (done.stdout + done.stderr).strip()
except ImportError:
    names = {(d.metadata["Name"] or "").lower().replace("_", "-") for d in md.distributions()}
    problems = []
    for d in md.distributions():
        for req in d.requires or []:
            if ";" in req:
                continue
            name = re.split(r"[\\s<>=!~\\[(]", req, maxsplit=1)[0].lower().replace("_", "-")
            if name not in names:
                problems.append(f"{d.metadata['Name']} requires {name}, which is not installed.")
    facts["pip_check"] = "\\n".join(problems)
for module in modules:
    try:
        importlib.import_module(module)
    except Exception as exc:
        facts["imports"][module] = f"{type(exc).__name__}: {exc}"
print(json.dumps(facts))
"""


@pytest.fixture(scope="session")
def python_facts(run_tool: ToolRunner, contract: Profile) -> dict[str, Any]:
    python = contract.fs.python
    result = run_tool([python, "-c", _PYTHON_FACTS, json.dumps(contract.fs.required_modules)])
    if result.missing:
        return {"missing": f"no `{python}` in the image"}
    lines = result.stdout.strip().splitlines()
    if lines:
        try:
            return dict(json.loads(lines[-1]))
        except ValueError:
            pass
    pytest.fail(
        f"could not establish the fact: `{python}` gave no answer ({result.why()})",
        pytrace=False,
    )


@pytest.mark.check("FS-PYTHON")
def test_python_version(python_facts: dict[str, Any], contract: Profile, check: Check) -> None:
    version = python_facts.get("version") or python_facts.get("missing")
    check.expect(
        version == contract.fs.python_version,
        f"Python {version}",
        f"Python {contract.fs.python_version}",
        f"build from a Python {contract.fs.python_version} base image (e.g. "
        f"python:{contract.fs.python_version}-slim) and put its venv first on PATH",
    )


@pytest.mark.check("FS-PIP-CHECK")
def test_pip_check_and_imports(
    python_facts: dict[str, Any], contract: Profile, check: Check
) -> None:
    failed_imports = sorted(python_facts.get("imports") or {})
    measured = "; ".join(
        part
        for part in (
            python_facts.get("missing", ""),
            str(python_facts.get("pip_check") or "").replace("\n", "; "),
            f"cannot import {', '.join(failed_imports)}" if failed_imports else "",
        )
        if part
    )
    check.expect(
        not measured,
        measured or "pip check clean, all modules import",
        f"pip check clean; {', '.join(contract.fs.required_modules)} import",
        "pin consistent versions in requirements.txt and rebuild the venv from it",
    )


@pytest.mark.check("FS-FRONTEND")
def test_frontend_bundle(image_fs: ImageFilesystem, contract: Profile, check: Check) -> None:
    root = contract.fs.frontend_dir
    index = image_fs.lookup(f"{root}/index.html")
    has_index = index is not None and index.kind == "file"
    count = len(image_fs.listdir(f"{root}/assets"))
    check.expect(
        has_index and count > 0,
        f"index.html {'present' if has_index else 'missing'}, {count} files in assets/",
        f"{root}/index.html and a non-empty {root}/assets/",
        f"build the SPA (`npm run build`) and `COPY frontend/dist {root}`",
    )
