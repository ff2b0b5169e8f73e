"""Policy files, profile deviations and the one green rule, on files and dicts alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import CHECKS
from conformance.deviations import deviations, profile_digest
from conformance.policy import PolicyError, load_policy
from conformance.profile import load_profile
from conformance.report import CheckResult, ResultBook, build_report, markdown
from conformance.schema import Policy, decide


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_a_policy_file_and_flags_add_up(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[allow]\nwaivers = ["dep-*"]\noverrides = ["image.max_size_mb"]\n')
    policy = load_policy(path, excludes=["SPA-BROWSER"])
    assert policy.allows("waivers", "DEP-ECS") and not policy.allows("waivers", "IMG-SIZE")
    assert policy.allows("overrides", "image.max_size_mb")
    assert policy.allows("excludes", "SPA-BROWSER") and not policy.allows("skips", "SPA-BROWSER")
    assert policy.source == f"{path} + flags"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[allow\n", "is not valid TOML"),
        ("[deny]\nwaivers = []\n", "unknown table [deny]"),
        ("[allow]\nwaiver = []\n", "unknown key allow.waiver"),
        ('[allow]\nwaivers = "DEP-ECS"\n', "allow.waivers must be a list"),
        ('[allow]\nwaivers = ["NOPE-1"]\n', "waivers entry 'NOPE-1' matches no check ID"),
        ('[allow]\noverrides = ["max_size_mb"]\n', "is not a profile key like image.max_size_mb"),
        ("[allow]\nskips = [3]\n", "skips entries must be non-empty strings"),
    ],
)
def test_bad_policy_files_are_one_line_errors(text: str, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=re.escape(reason)) as caught:
        load_policy(path)
    assert "\n" not in str(caught.value)


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")


def test_the_reference_profile_has_no_deviations() -> None:
    assert deviations(load_profile(None)) == []


def test_deviations_name_key_values_source_and_direction(tmp_path: Path) -> None:
    path = _profile(
        tmp_path,
        "[image]\nmax_size_mb = 1e9\nmax_layers = 10\n"
        '[fs]\nsetuid_allowlist = [".*"]\n'
        "[runtime]\nready_max_s = 600\n"
        # the reference value, written out: not a deviation
        f"[suite]\nimage = 'x:1'\n[logs]\nquiet_level = '{load_profile(None).logs.quiet_level}'\n"
        # where the browser is: not part of the contract
        "[spa]\nbrowser_executable = '/opt/chrome'\n",
    )
    found = {d["key"]: d for d in deviations(load_profile(path))}
    assert set(found) == {
        "image.max_size_mb",
        "image.max_layers",
        "fs.setuid_allowlist",
        "runtime.ready_max_s",
    }
    assert found["image.max_size_mb"]["value"] == 1e9
    assert found["image.max_size_mb"]["direction"] == "raised (looser)"
    assert found["image.max_layers"]["direction"] == "lowered (tighter)"
    assert found["fs.setuid_allowlist"]["direction"].endswith("(looser)")
    assert found["runtime.ready_max_s"]["direction"] == "raised (looser)"
    assert found["image.max_size_mb"]["source"] == str(path)
    assert profile_digest(load_profile(path)) != profile_digest(load_profile(None))


def _report_for(profile_path: Path, policy: Policy) -> dict[str, Any]:
    profile = load_profile(profile_path)
    book = ResultBook()
    for check_id in CHECKS:
        book.results[check_id] = CheckResult(check_id, items={"x": "passed"})
    now = datetime.now(UTC)
    return build_report(
        book.finish(),
        {"ref": "r:1", "id": "sha256:" + "0" * 64, "repo_digests": []},
        {"waivers": {}, "digest": profile_digest(profile)},
        now,
        now,
        1.0,
        policy=policy,
        deviations=deviations(profile),
    )


def test_a_profile_that_only_raises_the_size_limit_is_not_green(tmp_path: Path) -> None:
    path = _profile(tmp_path, "[image]\nmax_size_mb = 1e9\n")
    report = _report_for(path, Policy())
    assert report["green"] is False
    assert report["verdict"]["reasons"] == [
        "image.max_size_mb overridden 500.0 -> 1000000000.0 "
        "(not allowed: --allow-override image.max_size_mb)"
    ]
    summary = markdown(report)
    # The deviation is the first thing the summary shows after its title.
    assert summary.splitlines()[2].startswith("### Deviations from the reference profile (1)")
    assert "`image.max_size_mb`" in summary.split("| | Check |")[0]
    allowed = _report_for(path, Policy(overrides=frozenset({"image.*"})))
    assert allowed["green"] is True
    assert decide(allowed, Policy()).green is False


def test_the_repositorys_own_release_policy_allows_nothing() -> None:
    policy = load_policy(Path(__file__).parents[2] / ".github" / "conformance-policy.toml")
    assert not (policy.waivers or policy.excludes or policy.overrides or policy.skips)
