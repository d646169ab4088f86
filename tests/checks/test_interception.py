"""tls.interception: the chain each host presents, judged by verification, behind real proxies.

Every host the doctor contacts is a loopback server reached through a loopback proxy's
host map, so no test resolves a public name. The one thing a test cannot produce locally is
a server certificate from a real public CA: the ``public`` fixture adds a test root to a
copy of certifi's bundle and points ``certifi.where`` at it, for httpx and the doctor alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from conftest import ACCOUNT, KEY, WORKSPACE, run_checks, workspace_item
from proxy_server import LoopbackProxy
from tls_fixtures import InspectingProxy, Pki, World, make_pki, pem, public_bundle

from syntask_doctor.chain import fingerprint
from syntask_doctor.model import Result, Status

CLOUD_WORKSPACE = f"https://api.syntask.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"


def everything(result: Result) -> str:
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or ""])


def kinds(result: Result) -> dict[str, str]:
    return {h["host"]: h["kind"] for h in result.outcome.data["hosts"]}


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def public(pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seam: certifi's bundle plus the public-like test root counts as the public roots."""
    path = public_bundle(pki, tmp_path)
    monkeypatch.setattr(certifi, "where", lambda: str(path))
    return path


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
