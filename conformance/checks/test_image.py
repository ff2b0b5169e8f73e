"""IMG: image metadata from docker inspect/history; no running container needed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from conformance.probes.accounts import PasswdEntry
from conformance.profile import Profile
from conformance.verdict import Check

_NS = 1e9

# What a secret looks like: values, not names (a name alone is not a leak).
SECRET_VALUE_PATTERNS = {
    "AWS access key ID": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I),
    "Replicate API token": re.compile(r"\br8_[A-Za-z0-9]{20,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)", re.I)
PLACEHOLDER = re.compile(r"^(|changeme|change-me|none|null|your[_-].*|<.*>|\$\{.*\}|x+|\*+)$", re.I)


@pytest.mark.check("IMG-USER")
def test_user_is_not_root(
    image_config: dict[str, Any],
    image_passwd: dict[str, PasswdEntry],
    contract: Profile,
    check: Check,
) -> None:
    user = str(image_config.get("User") or "")
    name = user.split(":", 1)[0]
    fix = f"set `USER {contract.image.user}` (a non-root user with a fixed UID) in the Dockerfile"
    if not name:
        check.fail("no USER (the container runs as root)", f"USER {contract.image.user}", fix)
    if name.isdigit():
        uid = int(name)
    elif name in image_passwd:
        uid = image_passwd[name].uid
    else:
        check.fail(f"USER {user!r}, not in the image's /etc/passwd", "a user that exists", fix)
    check.expect(uid != 0, f"USER {user} (UID {uid})", "a non-zero UID", fix)
    if contract.image.require_numeric_uid:
        check.expect(
            name.isdigit(),
            f"USER {user}",
            "a numeric UID (image.require_numeric_uid)",
            "write the UID, e.g. `USER 10001:10001`, so runAsNonRoot can verify it",
        )
    elif contract.image.user:
        check.expect(
            name
            in (
                contract.image.user,
                str(image_passwd.get(contract.image.user, PasswdEntry("", -1, -1, "", "")).uid),
            ),
            f"USER {user} (UID {uid})",
            f"the user {contract.image.user} (image.user)",
            fix,
        )


@pytest.mark.check("IMG-HEALTHCHECK")
def test_healthcheck_declared(
    image_config: dict[str, Any], contract: Profile, check: Check
) -> None:
    health = image_config.get("Healthcheck") or {}
    test = health.get("Test") or []
    limits = contract.image
    fix = (
        f"declare `HEALTHCHECK --interval={limits.healthcheck_max_interval_s:g}s "
        f"--timeout={limits.healthcheck_max_timeout_s:g}s "
        f"--start-period={limits.healthcheck_max_start_period_s:g}s "
        f"--retries={limits.healthcheck_max_retries} CMD [...]` in the Dockerfile"
    )
    if not test or test[0] == "NONE":
        check.fail("no HEALTHCHECK", "a HEALTHCHECK", fix)
    values = {
        "interval": (health.get("Interval", 0) / _NS, limits.healthcheck_max_interval_s),
        "timeout": (health.get("Timeout", 0) / _NS, limits.healthcheck_max_timeout_s),
        "start-period": (health.get("StartPeriod", 0) / _NS, limits.healthcheck_max_start_period_s),
        "retries": (health.get("Retries", 0), limits.healthcheck_max_retries),
    }
    measured = ", ".join(f"{k} {v:g}" for k, (v, _) in values.items())
    expected = ", ".join(f"{k} ≤ {m:g}" for k, (_, m) in values.items())
    unset = [k for k, (v, _) in values.items() if not v]
    check.expect(not unset, measured, f"{expected}, all set explicitly", fix)
    check.expect(all(v <= m for v, m in values.values()), measured, expected, fix)


@pytest.mark.check("IMG-PORT")
def test_port_exposed(image_config: dict[str, Any], contract: Profile, check: Check) -> None:
    exposed = sorted(image_config.get("ExposedPorts") or {})
    want = f"{contract.image.port}/tcp"
    check.expect(
        want in exposed,
        f"exposed {', '.join(exposed) or 'nothing'}",
        f"{want} exposed",
        f"add `EXPOSE {contract.image.port}` to the Dockerfile",
    )


def _shell_form(argv: list[str]) -> bool:
    # Docker stores a shell-form CMD as ["/bin/sh", "-c", "..."].
    return len(argv) >= 2 and argv[0] in ("/bin/sh", "sh", "/bin/bash") and argv[1] == "-c"


@pytest.mark.check("IMG-EXEC-FORM")
def test_exec_form(image_config: dict[str, Any], check: Check) -> None:
    entrypoint = image_config.get("Entrypoint") or []
    cmd = image_config.get("Cmd") or []
    first = entrypoint or cmd
    check.expect(
        bool(first) and not _shell_form(first),
        f"ENTRYPOINT {entrypoint} CMD {cmd}",
        'exec form, e.g. CMD ["python", "-m", "app"]',
        "write CMD/ENTRYPOINT as a JSON array: the shell form makes /bin/sh PID 1, "
        "which does not pass SIGTERM to the server",
    )


@pytest.mark.check("IMG-SIZE")
def test_size(image_attrs: dict[str, Any], contract: Profile, check: Check) -> None:
    size_mb = image_attrs["Size"] / 1e6
    check.expect(
        size_mb <= contract.image.max_size_mb,
        f"{size_mb:.0f} MB",
        f"≤ {contract.image.max_size_mb:g} MB",
        "use a multi-stage build, --no-install-recommends, and remove what the runtime "
        "does not need (`docker history` shows the big layers)",
    )


@pytest.mark.check("IMG-LAYERS")
def test_layers(image_attrs: dict[str, Any], contract: Profile, check: Check) -> None:
    layers = len(image_attrs["RootFS"].get("Layers") or [])
    check.expect(
        layers <= contract.image.max_layers,
        f"{layers} layers",
        f"≤ {contract.image.max_layers}",
        "merge RUN steps and copy build outputs from a builder stage in one COPY",
    )


def _secret_findings(where: str, text: str, allow: list[re.Pattern[str]]) -> list[str]:
    found = []
    for what, pattern in SECRET_VALUE_PATTERNS.items():
        for match in pattern.finditer(text):
            if not any(a.search(match.group(0)) for a in allow):
                found.append(f"{what} in {where}")
    return found


@pytest.mark.check("IMG-SECRETS")
def test_no_secrets(
    image_config: dict[str, Any],
    image_history: list[dict[str, Any]],
    contract: Profile,
    check: Check,
) -> None:
    allow = [re.compile(p) for p in contract.image.secret_allowlist]
    findings: list[str] = []
    for entry in image_config.get("Env") or []:
        name, _, value = entry.partition("=")
        findings += _secret_findings(f"ENV {name}", value, allow)
        named_secret = SECRET_NAME.search(name) and not PLACEHOLDER.match(value.strip())
        if named_secret and not any(a.search(value) for a in allow):
            findings.append(f"a value for ENV {name}")
    for name, value in (image_config.get("Labels") or {}).items():
        findings += _secret_findings(f"LABEL {name}", str(value), allow)
    for step in image_history:
        findings += _secret_findings("the build history", str(step.get("CreatedBy", "")), allow)
    check.expect(
        not findings,
        "; ".join(sorted(set(findings))) or "none found",
        "no secret values in Env, Labels or history",
        "pass secrets at run time (environment, secret manager) or as BuildKit secrets "
        "(`RUN --mount=type=secret`), never with ENV/ARG/LABEL",
    )


OCI = "org.opencontainers.image."
# What a build leaves when nobody passed the value (the reference Dockerfile's own
# ARG defaults are "unknown" and "0.0.0-dev"), or a template never filled in.
LABEL_PLACEHOLDER = re.compile(
    r"^(|unknown|none|null|nil|n/?a|undefined|tbd|todo|dev|latest|0\.0\.0(-dev)?|"
    r"<.*>|\$\{.*\}|\$[A-Z_]+)$",
    re.I,
)
# A git (or hg) commit ID, abbreviated to 7 or more hex digits, or a SHA-256 one;
# "-dirty": built from that commit with uncommitted changes (scripts/build-backend.sh).
REVISION = re.compile(r"^([0-9a-f]{7,40}|[0-9a-f]{64})(-dirty)?$", re.I)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I)
URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s]+", re.I)


def _timestamp(value: str) -> bool:
    if not RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def label_problem(name: str, value: str | None) -> str | None:
    """Why a label's value says nothing (missing, a placeholder, the wrong form), or None."""
    if value is None or not value.strip():
        return "missing" if value is None else "empty"
    value = value.strip()
    if LABEL_PLACEHOLDER.match(value):
        return f"{value!r} is a placeholder"
    kind = name.removeprefix(OCI) if name.startswith(OCI) else ""
    if kind == "revision" and not REVISION.match(value):
        return f"{value!r} is not a commit ID (7-40 or 64 hex digits)"
    if kind == "created" and not _timestamp(value):
        return f"{value!r} is not an RFC 3339 time"
    if kind == "source" and not URL.match(value):
        return f"{value!r} is not a URL"
    return None


@pytest.mark.check("IMG-LABELS")
def test_oci_labels(image_config: dict[str, Any], contract: Profile, check: Check) -> None:
    labels = image_config.get("Labels") or {}
    found = {name: labels.get(name) for name in contract.image.required_labels}
    problems = {
        name: problem
        for name, value in found.items()
        if (problem := label_problem(name, None if value is None else str(value)))
    }
    check.expect(
        not problems,
        "; ".join(f"{name.removeprefix(OCI)} {why}" for name, why in problems.items())
        if problems
        else ", ".join(f"{name.removeprefix(OCI)}={value}" for name, value in found.items()),
        f"{', '.join(n.removeprefix(OCI) for n in contract.image.required_labels)} set to real "
        "values: revision a commit ID, created an RFC 3339 time, source a URL, none a "
        "placeholder (unknown, 0.0.0-dev, latest...)",
        "pass the build's real values as build args: `--build-arg REVISION=$(git rev-parse "
        "HEAD) --build-arg CREATED=$(git log -1 --format=%cI) --build-arg VERSION=...` "
        "(scripts/build-backend.sh does), into `LABEL org.opencontainers.image.<name>=...`",
    )


@pytest.mark.check("IMG-WORKDIR")
def test_workdir(image_config: dict[str, Any], contract: Profile, check: Check) -> None:
    workdir = image_config.get("WorkingDir") or "(none)"
    check.expect(
        workdir.rstrip("/") == contract.image.workdir.rstrip("/"),
        workdir,
        contract.image.workdir,
        f"set `WORKDIR {contract.image.workdir}` in the runtime stage",
    )
