"""tls.interception: the chain each host presents, judged by verification, behind real proxies.

Every host the doctor contacts is a loopback server reached through a loopback proxy's
host map, so no test resolves a public name. The one thing a test cannot produce locally is
a server certificate from a real public CA: the ``public`` fixture adds a test root to a
copy of certifi's bundle and points ``certifi.where`` at it, for httpx and the doctor alike.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ACCOUNT, KEY, WORKSPACE, everything, run_checks, workspace_item
from local_servers import black_hole, closed_port
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer
from tls_fixtures import (
    DAY,
    Authority,
    InspectingProxy,
    Pki,
    World,
    der,
    make_pki,
    now,
    pem,
    self_signed_leaf,
    site,
)

from syntask_doctor import stores
from syntask_doctor.chain import fingerprint
from syntask_doctor.model import Result, Status

CLOUD_WORKSPACE = f"https://api.syntask.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"


def kinds(result: Result) -> dict[str, str]:
    return {h["host"]: h["kind"] for h in result.outcome.data["hosts"]}


def serve_cloud(world: World) -> None:
    world.cloud.expect_request("/api/me/workspaces").respond_with_json([workspace_item()])
    world.cloud.expect_request(
        f"/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}/health"
    ).respond_with_json(True)


@pytest.fixture
def world(pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with World(pki) as found:
        serve_cloud(found)
        monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
        monkeypatch.setenv("SYNTASK_API_KEY", KEY)
        yield found


def through(monkeypatch: pytest.MonkeyPatch, proxy: LoopbackProxy) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)


def interception() -> Result:
    return run_checks("tls.interception")["tls.interception"]


def no_key_reached_the_server(world: World) -> bool:
    seen = [request for request, _ in world.cloud.log]
    return bool(seen) and all(r.headers.get("Authorization") is None for r in seen)


# Healthy


def test_public_chains_through_a_plain_proxy_pass(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(hosts=world.hosts) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.PASS, everything(result)
    assert result.outcome.summary.startswith("No TLS inspection: 5 host(s)")
    assert set(kinds(result).values()) == {"public"}
    assert ("CONNECT", "api.syntask.cloud:443") in [r[:2] for r in proxy.log.requests]
    api = result.outcome.data["hosts"][0]
    assert api["chain"][0]["names"] == ["api.syntask.cloud"]
    assert api["chain"][1]["subject"].startswith("CN=Doctor Test Public CA 1")
    assert no_key_reached_the_server(world)


# C18


def test_c18_inspecting_proxy_with_an_untrusted_corporate_root(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C18: the proxy re-signs every host with a corporate root absent from certifi."""
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    text = everything(result)
    assert result.status is Status.FAIL, text
    assert result.outcome.summary.startswith("TLS inspection: api.syntask.cloud presents a chain")
    assert "Corp TLS Inspection Root" in result.outcome.summary
    assert "neither client path trusts it" in result.outcome.summary
    assert set(kinds(result).values()) == {"inspection"}
    # The chain actually presented, with the fingerprint of the root to trust.
    assert fingerprint(pki.corp_root.cert) in text
    assert "self-signed certificate in certificate chain (OpenSSL code 19)" in text
    remedy = result.outcome.remedy or ""
    assert "syntask-doctor ca-bundle ~/syntask-ca-bundle.pem" in remedy
    assert "export SSL_CERT_FILE=~/syntask-ca-bundle.pem" in remedy
    assert no_key_reached_the_server(world)


def test_c18_corporate_root_trusted_through_ssl_cert_file_passes_and_names_it(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "corp-bundle.pem"
    bundle.write_bytes(public.read_bytes() + pem(pki.corp_root.cert))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.PASS, everything(result)
    assert result.outcome.summary.startswith("TLS inspection on api.syntask.cloud")
    assert f"both client paths trust it ({bundle})" in result.outcome.summary


def test_inspection_product_is_named_from_the_issuer_as_information_only(
    world: World, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zscaler = make_pki("Zscaler Inc.").corp_root
    with InspectingProxy(zscaler, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.FAIL
    assert result.outcome.summary.startswith("TLS inspection by Zscaler: api.syntask.cloud")


# Faults of the certificate itself, judged by OpenSSL's code, not by names


def judged_with(world: World, monkeypatch: pytest.MonkeyPatch) -> Result:
    with LoopbackProxy(hosts=world.hosts) as proxy:
        through(monkeypatch, proxy)
        return interception()


@pytest.mark.parametrize(
    "case",
    [
        ("expired", "expired on", "Renew the certificate on api.syntask.cloud"),
        ("not-yet-valid", "is valid only from", "Renew the certificate on api.syntask.cloud"),
        ("hostname", "is for wrong.example, not for api.syntask.cloud", "host name in the URL"),
        ("self-signed", "presents a self-signed certificate", "syntask-doctor ca-bundle"),
    ],
)
def test_certificate_faults_fail_with_their_own_cause(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[str, str, str]
) -> None:
    fault, words, remedy = case
    leaf = {
        "expired": lambda: pki.public_ca.issue(
            "api.syntask.cloud", not_before=now() - 100 * DAY, not_after=now() - DAY
        ),
        "not-yet-valid": lambda: pki.public_ca.issue(
            "api.syntask.cloud", not_before=now() + 10 * DAY
        ),
        "hostname": lambda: pki.public_ca.issue("wrong.example"),
        "self-signed": lambda: self_signed_leaf("api.syntask.cloud"),
    }[fault]()
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
    with World(pki, api_leaf=leaf) as world:
        result = judged_with(world, monkeypatch)
    assert result.status is Status.FAIL, everything(result)
    assert kinds(result)["api.syntask.cloud"] == fault
    assert kinds(result)["github.com"] == "public"
    assert words in result.outcome.summary
    assert remedy in (result.outcome.remedy or "")
    if fault in ("expired", "not-yet-valid"):
        # C22's other half: the clock agrees with the servers, so the certificate is blamed.
        assert "so the certificate itself is at fault" in result.outcome.summary


def test_a_non_critical_host_with_a_bad_certificate_only_warns(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
    with World(pki) as world:
        world.other_leaf = pki.public_ca.issue("nothing-here.example")
        with World(pki, api_leaf=world.other_leaf) as wrong:
            hosts = {**world.hosts, "github.com": wrong.hosts["api.syntask.cloud"]}
            with LoopbackProxy(hosts=hosts) as proxy:
                through(monkeypatch, proxy)
                result = interception()
    assert result.status is Status.WARN, everything(result)
    assert result.outcome.summary.startswith("The certificate github.com presents is for")
    assert kinds(result)["api.syntask.cloud"] == "public"


def test_missing_intermediate_is_proven_by_the_ca_issuers_download(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server sends its leaf alone; the leaf's CA-issuers URL (served on loopback,
    reached through HTTP_PROXY as httpx would) returns the intermediate, whose signature
    links the leaf to a public root: a server fault, not inspection."""
    with HTTPServer(host="127.0.0.1", port=0) as aia:
        aia.expect_request("/ca1.der").respond_with_data(der(pki.public_ca.cert))
        leaf = pki.public_ca.issue(
            "api.syntask.cloud", ca_issuers="http://ca.doctor-test.invalid/ca1.der"
        )
        monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
        with World(pki, api_leaf=leaf, send_chain=False) as world:
            hosts = {**world.hosts, "ca.doctor-test.invalid": ("127.0.0.1", aia.port)}
            with LoopbackProxy(hosts=hosts) as proxy:
                through(monkeypatch, proxy)
                result = interception()
    assert result.status is Status.FAIL, everything(result)
    assert kinds(result)["api.syntask.cloud"] == "missing-intermediate"
    assert "without the intermediate 'CN=Doctor Test Public CA 1" in result.outcome.summary
    assert "send its full chain" in (result.outcome.remedy or "")


def test_private_ca_of_a_self_hosted_server_is_not_called_inspection(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A self-hosted API on a name with no public certificate, signed by a private root."""
    private = Authority("Example Private Root")
    with World(pki) as world, site(private.issue("127.0.0.1")) as server:
        server.expect_request("/").respond_with_data("")
        monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{server.port}/api")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        result = judged_with(world, monkeypatch)
    assert result.status is Status.FAIL, everything(result)
    assert kinds(result)["127.0.0.1"] == "private"
    assert result.outcome.summary.startswith("127.0.0.1 presents a chain from a private CA")


# C17: the two client paths disagree


def test_c17_root_only_in_the_workspace_setting_flows_work_login_fails(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """C17: SYNTASK_API_SSL_CERT_FILE holds the corporate root; httpx's login client never
    reads it. The one setting: SSL_CERT_FILE at that file, and the workspace setting gone."""
    bundle = tmp_path / "workspace-only.pem"
    bundle.write_bytes(public.read_bytes() + pem(pki.corp_root.cert))
    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", str(bundle))
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.FAIL, everything(result)
    assert result.outcome.summary.startswith("Flows work, login fails: TLS inspection")
    assert f"the workspace client trusts it ({bundle}" in result.outcome.summary
    remedy = result.outcome.remedy or ""
    assert remedy.startswith(f"export SSL_CERT_FILE={bundle}; and `unset SYNTASK_API_SSL")


def test_c17_root_only_in_ssl_cert_dir_login_works_flows_fail(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """C17: the corporate root in a hashed SSL_CERT_DIR: httpx reads it, the workspace
    client never does. A folder cannot serve both paths, so the fix is a bundle file."""
    if shutil.which("openssl") is None:
        pytest.skip("`openssl rehash` is needed to hash a certificate folder")
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "corp.pem").write_bytes(pem(pki.corp_root.cert))
    subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.FAIL, everything(result)
    assert result.outcome.summary.startswith("Login works, flows fail: TLS inspection")
    assert "syntask-doctor ca-bundle" in (result.outcome.remedy or "")
    assert "export SSL_CERT_FILE=~/syntask-ca-bundle.pem" in (result.outcome.remedy or "")


def test_c17_flows_only_work_because_verification_is_off(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_TLS_INSECURE_SKIP_VERIFY", "true")
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.FAIL
    assert "flows only work because TLS verification is off" in result.outcome.summary
    assert "`unset SYNTASK_API_TLS_INSECURE_SKIP_VERIFY`" in (result.outcome.remedy or "")


# C21: a bundle that replaces the public roots


def test_c21_ssl_cert_file_with_only_the_corporate_root_breaks_the_hosts_not_inspected(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """C21: the API host is inspected (trusted), GitHub is exempt from inspection and
    presents its public chain, which a corporate-root-only SSL_CERT_FILE cannot verify."""
    only = tmp_path / "corp-only.pem"
    only.write_bytes(pem(pki.corp_root.cert))
    monkeypatch.setenv("SSL_CERT_FILE", str(only))
    exempt = frozenset({"github.com", "api.github.com"})
    with InspectingProxy(pki.corp_root, world.hosts, public, bypass=exempt) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert kinds(result)["api.syntask.cloud"] == "inspection"
    assert kinds(result)["github.com"] == "public"
    assert result.status is Status.WARN, everything(result)
    assert "replaces the public roots instead of adding to them" in result.outcome.summary
    assert f'cat "$(python -m certifi)" {only}' in (result.outcome.remedy or "")


# Where IT put the root: the OS store


def test_root_installed_in_the_os_store_is_named_and_the_os_bundle_offered(
    world: World, pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The one stand-in: a test cannot install a root in this machine's OS store, so the
    store's location (as OpenSSL reports it) is pointed at a bundle holding the root."""
    system = tmp_path / "ca-certificates.crt"
    system.write_bytes(public.read_bytes() + pem(pki.corp_root.cert))
    monkeypatch.setattr(stores, "_os_paths", lambda: (str(system), None))
    with InspectingProxy(pki.corp_root, world.hosts, public) as proxy:
        through(monkeypatch, proxy)
        result = interception()
    assert result.status is Status.FAIL
    assert "the OS trust store accepts it (IT installed the root there)" in result.outcome.summary
    assert (result.outcome.remedy or "").startswith(f"export SSL_CERT_FILE={system}")


# Time limits


def test_api_host_that_drops_packets_leaves_no_verdict_and_the_run_in_time(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C27's host seen from here: no chain to judge; the host check owns the TCP failure."""
    with World(pki) as world, black_hole() as port:
        monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{port}/api")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with LoopbackProxy(hosts=world.hosts) as proxy:
            through(monkeypatch, proxy)
            started = time.monotonic()
            results = run_checks("tls.interception", timeout=0.5, deadline=5)
            took = time.monotonic() - started
    result = results["tls.interception"]
    assert result.status is Status.PASS, everything(result)
    assert kinds(result)["127.0.0.1"] == "unreached"
    assert "127.0.0.1: no chain captured: no answer to the TCP connection" in everything(result)
    assert results["clock.skew"].status is Status.PASS
    assert took < 4


def test_no_chain_captured_is_a_skip_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a new user: with no host reached, 'pass' claimed a verdict it did not have."""
    monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{closed_port()}/api")
    monkeypatch.setenv("NO_PROXY", "*")
    with LoopbackProxy(mode="bad-gateway") as proxy:  # every allow-listed host: unreachable
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        result = run_checks("tls.interception")["tls.interception"]
    assert result.status is Status.SKIP
    assert "No chain captured" in result.outcome.summary
