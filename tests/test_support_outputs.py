"""Reports people attach: --save, --anonymize, --fail-on, diff, and JUnit from a real run."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ACCOUNT, LOCAL_ONLY, WORKSPACE, FakeCloud, doctor, workspace_item


def test_save_writes_private_json_and_markdown_and_says_where_to_send(clean_env: Path) -> None:
    run = doctor("--offline", "--save", "--email", "ada@example.com")
    saved = sorted(p.name for p in clean_env.iterdir() if p.name.startswith("syntask-doctor-"))
    assert len(saved) == 2
    assert saved[0].endswith(".json") and saved[1].endswith(".md")
    for name in saved:
        mode = stat.S_IMODE((clean_env / name).stat().st_mode)
        assert mode == 0o600, oct(mode)
    document = json.loads((clean_env / saved[0]).read_text())
    assert document["support"]["email"] == "ada@example.com"
    assert "help@syntask.io" in run.stderr
    assert saved[0] in run.stderr
    assert not [p for p in clean_env.iterdir() if p.name.startswith(".syntask-doctor")]  # no temp


def test_fail_on_warn_turns_a_warning_into_exit_1() -> None:
    assert doctor("--offline").exit_code == 0  # no API URL set: a warning only
    assert doctor("--offline", "--fail-on", "warn").exit_code == 1


def test_junit_from_a_real_run_has_one_case_per_check(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    run = doctor("--format", "junit", *LOCAL_ONLY)
    ids = [r["id"] for r in doctor("--format", "json", *LOCAL_ONLY).json()["results"]]
    root = ET.fromstring(run.stdout)
    assert [case.get("name") for case in root.iter("testcase")] == ids
    assert run.exit_code == 0


def test_anonymize_hides_internal_names_and_keeps_public_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", "https://syntask.intranet.acme.example/api")
    monkeypatch.setenv("HTTPS_PROXY", "http://jdoe:pw@proxy.acme.example:3128")
    monkeypatch.setenv("NO_PROXY", "10.20.30.40,.corp.acme.example")
    plain = doctor("--offline", "--format", "json").stdout
    hidden = doctor("--offline", "--format", "json", "--anonymize").stdout
    hidden_again = doctor("--offline", "--format", "json", "--anonymize").stdout
    for private in ("syntask.intranet.acme.example", "proxy.acme.example", "jdoe", "10.20.30.40"):
        assert private in plain
        assert private not in hidden
    assert "api.syntask.cloud" in hidden
    assert "HTTPS_PROXY" in hidden and "NO_PROXY" in hidden  # names of variables stay
    texts = [
        [(r["summary"], r["details"]) for r in json.loads(text)["results"]]
        for text in (hidden, hidden_again)
    ]
    assert texts[0] == texts[1]  # stable placeholders


def _report(tmp_path: Path, name: str, *args: str) -> Path:
    path = tmp_path / name
    doctor("--format", "json", "--output", str(path), *args)
    return path


def test_diff_puts_the_new_failure_first(
    fake_cloud: FakeCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    good = _report(tmp_path, "good.json", *LOCAL_ONLY)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens on the discard port
    bad = _report(tmp_path, "bad.json", *LOCAL_ONLY)
    run = doctor("diff", str(good), str(bad))
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0].startswith("verdict")
    assert "-> fail" in lines[1]
    assert any(line.startswith("route") and "127.0.0.1:9" in line for line in lines)
    assert doctor("diff", str(good), str(good)).stdout.startswith("No difference")


def test_diff_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    run = doctor("diff", str(other), str(other))
    assert run.exit_code == 2
    assert "not a syntask-doctor JSON report" in run.stderr
    assert "Traceback" not in run.stderr


def test_workspace_handles_are_anonymized(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(workspace_item(account_handle="secretcorp", workspace_handle="payroll"))
    fake_cloud.health()
    run = doctor("--format", "markdown", "-v", "--anonymize", *LOCAL_ONLY)
    assert "secretcorp" not in run.stdout and "payroll" not in run.stdout
    assert ACCOUNT in doctor("--format", "json", *LOCAL_ONLY).stdout
    assert WORKSPACE


def test_output_never_replaces_a_device_a_pipe_or_a_missing_folder(tmp_path: Path) -> None:
    """Found by a new user: -o /dev/full once turned the device into a plain file."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for target, words in (
        (pipe, "not a regular file"),
        (tmp_path / "no" / "such" / "x.json", "does not exist"),
    ):
        run = doctor("--offline", "--output", str(target))
        assert run.exit_code == 2
        assert words in run.stderr
        assert "Traceback" not in run.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_output_through_a_link_writes_the_file_it_names(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert doctor("--offline", "--format", "json", "--output", str(link)).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["schema_version"]


def test_only_and_skip_that_leave_nothing_are_a_usage_error() -> None:
    run = doctor("--only", "dns", "--skip", "dns")
    assert run.exit_code == 2
    assert "no check to run" in run.stderr


def test_diff_of_reports_with_odd_fields_is_a_usage_error_and_output_is_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user: odd field types crashed diff, and a key inside a report leaked."""
    good = _report(tmp_path, "good.json", "--offline")
    odd = tmp_path / "odd.json"
    document = json.loads(good.read_text())
    odd.write_text(json.dumps({**document, "environment": None}))
    run = doctor("diff", str(good), str(odd))
    assert run.exit_code == 2
    assert "not a syntask-doctor JSON report" in run.stderr
    assert "Traceback" not in run.stderr
    key = "pnu_" + "L" * 36
    document["settings"][0]["value"] = key
    leaky = tmp_path / "leaky.json"
    leaky.write_text(json.dumps(document))
    shown = doctor("diff", str(good), str(leaky))
    assert shown.exit_code == 0
    assert key not in shown.stdout
