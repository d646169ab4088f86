"""``syntask-doctor ca-bundle``: behind a loopback inspecting proxy, the bundle it writes and
the settings it prints make a second doctor run pass (C18, done-when of issue 3).

The public-like test root stands in for a real public CA through ``certifi.where``: the
only thing a test cannot make locally (see tests/checks/test_interception.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from conftest import ACCOUNT, KEY, WORKSPACE, doctor, workspace_item
from tls_fixtures import InspectingProxy, Pki, World, pem

from syntask_doctor.chain import fingerprint

CLOUD_WORKSPACE = f"https://api.syntask.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"
WHOLE_RUN = ("--format", "json", "--skip", "dns.*,api.websocket")
"""Every check but two: dns.* asks this machine's DNS servers about the public names (every
host here is reached through the proxy's map instead), and the loopback Cloud stand-in
speaks no WebSocket (api.websocket has its own tests)."""


@pytest.fixture
def world(pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with World(pki) as found:
        found.cloud.expect_request("/api/me/workspaces").respond_with_json([workspace_item()])
        found.cloud.expect_request(
            f"/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}/health"
        ).respond_with_json(True)
        monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
        monkeypatch.setenv("SYNTASK_API_KEY", KEY)
        yield found


@pytest.fixture
def inspected(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[InspectingProxy]:
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        yield proxy


def apply(stdout: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Carry out the printed settings, as a user pasting them into the shell would."""
    for name, value in re.findall(r"^\s*export (\w+)=(\S+)$", stdout, re.MULTILINE):
        monkeypatch.setenv(name, value)
    for name in re.findall(r"^\s*`unset (\w+)`", stdout, re.MULTILINE):
        monkeypatch.delenv(name, raising=False)


def test_c18_bundle_from_the_live_chain_makes_the_second_run_pass(
    inspected: InspectingProxy,
    pki: Pki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = doctor(*WHOLE_RUN)
    results = {r["id"]: r for r in first.json()["results"]}
    assert first.exit_code == 1
    assert results["tls.interception"]["status"] == "fail"
    assert results["tls.interception"]["summary"].startswith("TLS inspection:")
    failing = {r["id"] for r in first.json()["results"] if r["status"] == "fail"}
    assert "tls.interception" in failing
    assert failing <= {"tls.interception", "host.api.syntask.cloud"}

    out = tmp_path / "bundle" / "syntask-ca.pem"
    made = doctor("ca-bundle", str(out))
    assert made.exit_code == 0, made.stdout + made.stderr
    assert pem(pki.corp_root.cert) in out.read_bytes()
    assert out.read_bytes().startswith(Path(certifi.where()).read_bytes())
    assert fingerprint(pki.corp_root.cert) in made.stdout
    assert f"export SSL_CERT_FILE={out}" in made.stdout
    assert "SSL_CERT_FILE covers both paths" in made.stdout
    assert KEY not in made.stdout + made.stderr

    apply(made.stdout, monkeypatch)
    second = doctor(*WHOLE_RUN)
    statuses = {r["id"]: r["status"] for r in second.json()["results"]}
    assert second.exit_code == 0, [(k, v) for k, v in statuses.items() if v != "pass"]
    assert statuses["tls.interception"] == "pass"
    assert statuses["api.auth"] == "pass"
    assert KEY not in first.stdout + second.stdout


def test_the_workspace_setting_is_cleared_so_one_file_serves_both_paths(
    inspected: InspectingProxy, public: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C17's fix as ca-bundle prints it: SYNTASK_API_SSL_CERT_FILE would hide SSL_CERT_FILE."""
    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", str(public))
    out = tmp_path / "ca.pem"
    made = doctor("ca-bundle", str(out))
    assert made.exit_code == 0, made.stderr
    assert "`unset SYNTASK_API_SSL_CERT_FILE`" in made.stdout
    apply(made.stdout, monkeypatch)
    second = doctor("--format", "json", "--only", "tls.interception")
    assert second.exit_code == 0, second.stdout


def test_no_chain_means_no_bundle_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", "https://127.0.0.1:9/api")
    out = tmp_path / "ca.pem"
    made = doctor("ca-bundle", str(out), "--timeout", "1")
    assert made.exit_code == 1
    assert made.stderr.startswith("No bundle written: no TLS chain captured from 127.0.0.1")
    assert not out.exists()


def test_proxy_that_sends_only_its_leaf_root_nowhere_to_be_found(
    world: World, pki: Pki, public: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root is not presented, not in this machine's OS store, not downloadable: the
    doctor writes nothing and says what to ask for, naming the issuer."""
    with InspectingProxy(pki.corp_root, world.hosts, public, present="leaf") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        out = tmp_path / "ca.pem"
        made = doctor("ca-bundle", str(out), "--os-roots")
        judged = doctor("--format", "json", "--only", "tls.interception")
    assert made.exit_code == 1
    assert "'CN=Corp TLS Inspection Root,O=Acme Corp'" in made.stderr
    assert "ask IT for it as a PEM file" in made.stderr
    assert not out.exists()
    result = judged.json()["results"][-1]
    assert result["id"] == "tls.interception"
    assert result["status"] == "fail"
    assert "unable to get local issuer certificate (OpenSSL code 20)" in "\n".join(
        result["details"]
    )
