"""The registry: every built-in check is registered once, and plugins load by entry point."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import doctor

from syntask_doctor import registry, runner
from syntask_doctor.context import Context
from syntask_doctor.formats import FORMATS, renderer
from syntask_doctor.model import Report, Status
from syntask_doctor.settings import resolve

EXPECTED_STATIC = {
    "settings.profile",
    "settings.api_url",
    "settings.api_key",
    "proxy.env",
    "proxy.connect",
    "dns.resolve",
    "tls.ca_bundle",
    "clock.skew",
    "tls.interception",
    "tls.ocsp",
    "tls.http2",
    "api.reach",
    "api.auth",
    "api.workspace",
    "api.websocket",
}
ALLOW_LIST = {
    "host.api.syntask.cloud",
    "host.app.syntask.cloud",
    "host.auth.workos.com",
    "host.api.github.com",
    "host.github.com",
    "host.ocsp.pki.goog",
}


def test_every_builtin_check_is_registered_once() -> None:
    ids = [c.id for c in registry.load().checks(resolve())]
    assert len(ids) == len(set(ids))
    assert set(ids) == EXPECTED_STATIC | ALLOW_LIST


def test_the_api_urls_own_host_gets_a_host_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", "https://syntask.internal.example/api")
    ids = {c.id for c in registry.load().checks(resolve())}
    assert "host.syntask.internal.example" in ids


def test_every_dependency_names_a_registered_check() -> None:
    checks = registry.load().checks(resolve())
    ids = {c.id for c in checks}
    for item in checks:
        assert set(item.depends_on) <= ids, item.id


def test_every_check_runs_and_renders_offline() -> None:
    """Walk the whole registry: each check yields a result every format can render."""
    settings = resolve()
    checks = registry.load().checks(settings)
    ctx = Context(settings, timeout=1.0, deadline=time.monotonic() + 10, offline=True)
    results = runner.run(checks, ctx)
    assert {r.check_id for r in results} == {c.id for c in checks}
    assert Status.ERROR not in {r.status for r in results}
    report = Report("0", "2026-01-01T00:00:00+00:00", {}, "default", (), tuple(results))
    for name in FORMATS:
        text = renderer(name)(report, color=False, verbose=True)
        for result in results:
            assert result.check_id in text, (name, result.check_id)


PLUGIN = """
from syntask_doctor.model import passed
from syntask_doctor.registry import Check

def run(ctx):
    return passed("the plugin ran")

check = Check("corp.vpn", "Corporate VPN is up", run, depends_on=("proxy.env",))
"""


def _install_plugin(root: Path, name: str, target: str, source: str) -> None:
    """A real installed distribution: a module plus dist-info with an entry point."""
    (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[syntask_doctor.checks]\n{name} = {target}\n")


def test_a_plugin_registers_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "corp_checks", "corp_checks:check", PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    run = doctor("--offline", "--format", "json", "--only", "corp.vpn")
    results = {r["id"]: r for r in run.json()["results"]}
    assert results["corp.vpn"]["status"] == "pass"
    assert results["corp.vpn"]["summary"] == "the plugin ran"
    assert "proxy.env" in results  # its dependency ran first


def test_a_broken_plugin_is_an_error_result_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, "broken_checks", "broken_checks:check", "raise RuntimeError('no')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("broken_checks", None)
    run = doctor("--offline", "--format", "json")
    results = {r["id"]: r for r in run.json()["results"]}
    assert results["plugin.broken_checks"]["status"] == "error"
    assert "failed to load" in results["plugin.broken_checks"]["summary"]
    assert run.exit_code == 2
