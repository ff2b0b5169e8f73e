"""FS: inside the running app container, as the app user (testinfra)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from conformance.fixtures import parse_passwd
from conformance.profile import Profile
from conformance.verdict import Check


def _passwd(host: Any) -> dict[str, Any]:
    return parse_passwd(host.file("/etc/passwd").content_string)


@pytest.mark.check("FS-APPUSER")
def test_app_user(image_host: Any, contract: Profile, check: Check) -> None:
    fs = contract.fs
    user = contract.image.user
    entry = _passwd(image_host).get(user)
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


@pytest.mark.check("FS-PID1-USER")
def test_pid1_user(root_host: Any, contract: Profile, check: Check) -> None:
    status = root_host.file("/proc/1/status").content_string
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    uids = fields.get("Uid", "").split()
    gids = fields.get("Gid", "").split()
    cmdline = root_host.run("tr '\\0' ' ' < /proc/1/cmdline").stdout.strip()
    entry = _passwd(root_host).get(contract.image.user)
    want_uid = entry.uid if entry else -1
    want_gid = entry.gid if entry else -1
    measured = f"PID 1 `{cmdline}` runs as uid {'/'.join(uids)} gid {'/'.join(gids)}"
    check.expect(
        bool(uids)
        and all(int(u) == want_uid for u in uids)
        and all(int(g) == want_gid for g in gids),
        measured,
        f"uid {want_uid} gid {want_gid} ({contract.image.user}, its own group; never root)",
        f"run the server as `USER {contract.image.user}:{contract.image.user}`, without a "
        "root group "
        "or a privileged wrapper",
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
def test_code_read_only(image_host: Any, contract: Profile, check: Check) -> None:
    writable = []
    for path in contract.fs.readonly_dirs:
        found = image_host.run(f"find {shlex.quote(path)} -writable -print 2>/dev/null | head -3")
        writable += found.stdout.split()
    check.expect(
        not writable,
        f"writable by {contract.image.user}: {', '.join(writable[:5])}"
        if writable
        else "none writable",
        f"nothing under {', '.join(contract.fs.readonly_dirs)} writable by {contract.image.user}",
        "leave code and venv owned by root (COPY without --chown, no chmod) so a compromised "
        "app cannot rewrite itself",
    )


@pytest.mark.check("FS-NO-BUILD-TOOLS")
def test_no_build_tools(image_host: Any, contract: Profile, check: Check) -> None:
    found = []
    for tool in contract.fs.build_tools:
        result = image_host.run(f"command -v {shlex.quote(tool)}")
        if result.rc == 0 and result.stdout.strip():
            found.append(result.stdout.strip())
    check.expect(
        not found,
        f"found {', '.join(found)}" if found else "none found",
        f"none of {', '.join(contract.fs.build_tools)}",
        "install build tools only in a builder stage and copy its outputs into the runtime stage",
    )


@pytest.mark.check("FS-NO-CACHES")
def test_no_caches(root_host: Any, contract: Profile, check: Check) -> None:
    globs = " ".join(contract.fs.cache_globs)
    found = root_host.run(
        f'for p in {globs}; do [ -e "$p" ] && echo "$p"; done; true'
    ).stdout.split()
    check.expect(
        not found,
        f"left behind: {', '.join(found[:5])}" + (" …" if len(found) > 5 else "")
        if found
        else "none",
        "no apt lists, apt archives or pip caches",
        "end each apt RUN with `rm -rf /var/lib/apt/lists/*` and use `pip install --no-cache-dir`",
    )


@pytest.mark.check("FS-SETUID")
def test_no_setuid(root_host: Any, contract: Profile, check: Check) -> None:
    found = root_host.run("find / -xdev -type f -perm /6000 2>/dev/null").stdout.split()
    unexpected = [path for path in found if path not in contract.fs.setuid_allowlist]
    sudo = root_host.run("command -v sudo").stdout.strip()
    if sudo:
        unexpected.append(sudo)
    check.expect(
        not unexpected,
        f"found {', '.join(unexpected)}" if unexpected else "none beyond the allowlist",
        f"none beyond {contract.fs.setuid_allowlist or 'an empty allowlist'}, no sudo",
        "drop the bits in the Dockerfile (`find / -xdev -perm /6000 -type f -exec chmod a-s {} +`) "
        "and do not install sudo",
    )


@pytest.mark.check("FS-PYTHON")
def test_python_version(image_host: Any, contract: Profile, check: Check) -> None:
    result = image_host.run(
        f"{contract.fs.python} -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
    )
    version = (
        result.stdout.strip()
        if result.rc == 0
        else f"no `{contract.fs.python}` ({result.stderr.strip()})"
    )
    check.expect(
        version == contract.fs.python_version,
        f"Python {version}",
        f"Python {contract.fs.python_version}",
        f"build from a Python {contract.fs.python_version} base image (e.g. "
        f"python:{contract.fs.python_version}-slim) and put its venv first on PATH",
    )


# pip check without pip: requirements of every installed distribution, markers ignored.
_PIP_CHECK_FALLBACK = """
import importlib.metadata as md, re
names = {(d.metadata['Name'] or '').lower().replace('_', '-') for d in md.distributions()}
for d in md.distributions():
    for req in d.requires or []:
        if ';' in req:
            continue
        name = re.split(r'[\\s<>=!~\\[(]', req, maxsplit=1)[0].lower().replace('_', '-')
        if name not in names:
            print(f"{d.metadata['Name']} requires {name}, which is not installed.")
"""


@pytest.mark.check("FS-PIP-CHECK")
def test_pip_check_and_imports(image_host: Any, contract: Profile, check: Check) -> None:
    python = contract.fs.python
    result = image_host.run(f"{python} -m pip check")
    if "No module named pip" in result.stderr:
        fallback = image_host.run(f"{python} -c {shlex.quote(_PIP_CHECK_FALLBACK)}")
        problems = fallback.stdout.strip() or (fallback.stderr.strip() if fallback.rc else "")
    else:
        problems = "" if result.rc == 0 else (result.stdout + result.stderr).strip()
    failed_imports = []
    for module in contract.fs.required_modules:
        if image_host.run(f"{python} -c {shlex.quote(f'import {module}')}").rc != 0:
            failed_imports.append(module)
    measured = "; ".join(
        part
        for part in (
            problems.replace("\n", "; "),
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
def test_frontend_bundle(image_host: Any, contract: Profile, check: Check) -> None:
    root = contract.fs.frontend_dir
    has_index = image_host.file(f"{root}/index.html").is_file
    assets = image_host.run(f"ls -A {shlex.quote(root)}/assets 2>/dev/null | wc -l").stdout.strip()
    count = int(assets or 0)
    check.expect(
        has_index and count > 0,
        f"index.html {'present' if has_index else 'missing'}, {count} files in assets/",
        f"{root}/index.html and a non-empty {root}/assets/",
        f"build the SPA (`npm run build`) and `COPY frontend/dist {root}`",
    )
