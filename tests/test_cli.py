"""The command line: options, formats, exit codes, and the installed entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from conftest import KEY, LOCAL_ONLY, FakeCloud, doctor, workspace_item
from proxy_server import LoopbackProxy

from syntask_doctor import __version__

SCHEMA = json.loads(files("syntask_doctor").joinpath("schema/report.schema.json").read_text())


def validate(document: object) -> None:
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_version() -> None:
    run = doctor("--version")
    assert run.exit_code == 0
    assert __version__ in run.stdout


def test_list_checks_names_every_check_and_its_dependencies() -> None:
    run = doctor("--list-checks")
    assert run.exit_code == 0
    assert "settings.api_url" in run.stdout
    assert "host.api.syntask.cloud" in run.stdout
    assert "after proxy.env, tls.ca_bundle" in run.stdout


def test_an_unknown_check_id_is_a_usage_error() -> None:
    run = doctor("--only", "no.such.check")
    assert run.exit_code == 2
    assert "no check matches 'no.such.check'" in run.stderr


def test_offline_json_validates_and_makes_no_connection() -> None:
    run = doctor("--offline", "--format", "json")
    document = run.json()
    validate(document)
    network = [r for r in document["results"] if r["id"].startswith(("host.", "api."))]
    assert network
    assert all(r["status"] == "skip" for r in network)
    assert run.exit_code == 0


def test_healthy_fake_cloud_exits_0_with_valid_json(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    run = doctor("--format", "json", *LOCAL_ONLY)
    document = run.json()
    validate(document)
    assert document["verdict"] == "pass"
    assert run.exit_code == 0
    settings = {s["name"]: s for s in document["settings"]}
    assert settings["SYNTASK_API_KEY"]["value"] == f"pnu_****{KEY[-4:]}"
    assert settings["SYNTASK_API_KEY"]["source"] == "env"
    assert KEY not in run.stdout + run.stderr


def test_a_failure_exits_1(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(status=401)
    fake_cloud.health(status=401, body='{"detail": "Invalid authentication credentials"}')
    run = doctor("--format", "json", *LOCAL_ONLY)
    validate(run.json())
    assert run.exit_code == 1


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    run = doctor("--offline", "--format", "json", "--output", str(target))
    assert run.stdout == ""
    assert "Report written to" in run.stderr
    validate(json.loads(target.read_text()))


def test_rich_report_groups_by_family_and_ends_with_a_verdict() -> None:
    run = doctor("--offline")
    for heading in ("Settings", "Proxy", "Trust", "Hosts", "API"):
        assert f"\n{heading}\n" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1].startswith("! No failure")


@pytest.mark.parametrize(
    "entry", [["-m", "syntask_doctor"], ["-c", "from syntask_doctor.cli import main; main()"]]
)
def test_runs_as_a_module_in_a_real_process(entry: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTASK_")}
    env["SYNTASK_API_KEY"] = KEY
    proc = subprocess.run(
        [sys.executable, *entry, "--offline", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    validate(json.loads(proc.stdout))
    assert KEY not in proc.stdout + proc.stderr


def test_broken_profiles_file_is_a_finding_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "default"\n[profiles.default\nSYNTASK_API_URL = "x"\n')
    monkeypatch.setenv("SYNTASK_PROFILES_PATH", str(profiles))
    run = doctor("--offline", "--format", "json")
    assert "Traceback" not in run.stdout + run.stderr
    results = {r["id"]: r for r in run.json()["results"]}
    assert results["settings.profile"]["status"] == "fail"
    assert "line 2" in " ".join(results["settings.profile"]["details"])
    assert run.exit_code == 1


def test_skipped_hosts_are_contacted_by_no_check(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--skip host.X keeps every check (clock, TLS, OCSP, DNS, proxy) away from X."""
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    with LoopbackProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        doctor("--format", "json", *LOCAL_ONLY)
        asked = {target.rsplit(":", 1)[0].split("//")[-1] for _, target, _ in proxy.log.requests}
    assert asked == {"127.0.0.1"}
