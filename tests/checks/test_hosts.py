"""host.<name>: one layered verdict per host, against real local servers and proxies."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import certifi
import pytest
from conftest import ACCOUNT, WORKSPACE, FakeCloud, doctor, run_checks, workspace_item
from dns_server import LocalDns, run_with_dns
from local_servers import black_hole, closed_port, raw_server, read_head
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer

from syntask_doctor.hosts import ALLOW_LIST, hosts_for
from syntask_doctor.model import Result, Status
from syntask_doctor.settings import resolve

CLOUD_WORKSPACE = f"https://api.syntask.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"


def layers(result: Result) -> list[tuple[str, bool]]:
    found: list[dict[str, Any]] = result.outcome.data["layers"]
    return [(layer["name"], layer["ok"]) for layer in found]


def text(result: Result) -> str:
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or ""])


# Which hosts, and which one may fail the run


def test_allow_list_plus_the_api_host_and_only_the_api_host_is_critical(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", "https://127.0.0.1:8443/api")
    hosts = {h.name: h for h in hosts_for(resolve())}
    assert set(hosts) == {name for name, _, _ in ALLOW_LIST} | {"127.0.0.1"}
    assert [h.name for h in hosts.values() if h.critical] == ["127.0.0.1"]
    assert hosts["127.0.0.1"].url == "https://127.0.0.1:8443/"
    assert hosts["ocsp.pki.goog"].url == "http://ocsp.pki.goog/"


def test_cloud_url_makes_the_cloud_api_host_critical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
    hosts = hosts_for(resolve())
    assert [h.name for h in hosts if h.critical] == ["api.syntask.cloud"]
    assert len(hosts) == len(ALLOW_LIST)


# Healthy


def test_api_host_reached_directly_passes_with_every_layer(fake_cloud: FakeCloud) -> None:
    result = run_checks("host.127.0.0.1")["host.127.0.0.1"]
    assert result.status is Status.PASS, text(result)
    assert layers(result) == [("dns", True), ("tcp", True), ("tls", True), ("http", True)]
    assert result.outcome.data["route"] == "direct"
    assert "reachable (direct)" in result.outcome.summary


def test_api_host_through_the_loopback_proxy_passes_with_a_proxy_layer(
    fake_cloud: FakeCloud, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    result = run_checks("host.127.0.0.1")["host.127.0.0.1"]
    assert result.status is Status.PASS, text(result)
    assert layers(result) == [
        ("dns", True),
        ("tcp", True),
        ("proxy", True),
        ("tls", True),
        ("http", True),
    ]
    assert result.outcome.data["route"] == f"proxy {proxy.url}"
    assert ("CONNECT", f"127.0.0.1:{fake_cloud.server.port}") in [r[:2] for r in proxy.log.requests]


# Proxy faults


@pytest.mark.parametrize(
    ("mode", "status_line", "words"),
    [
        ("basic", "407 Proxy Authentication Required", "percent-encoded"),
        ("forbid", "403 Forbidden", "Ask the proxy's administrators to allow 127.0.0.1"),
        ("bad-gateway", "502 Bad Gateway", "whether 127.0.0.1 is blocked"),
    ],
)
def test_refusing_proxy_is_one_finding_of_proxy_connect_and_the_host_defers(
    fake_cloud: FakeCloud,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    status_line: str,
    words: str,
) -> None:
    with LoopbackProxy(mode=mode, credentials=("alice", "right")) as refusing:
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret-pass@127.0.0.1:{refusing.port}")
        run = doctor("--format", "json", "--only", "host.127.0.0.1", "--timeout", "2")
    results = {r["id"]: r for r in run.json()["results"]}
    connect = results["proxy.connect"]
    assert connect["status"] == "fail"
    assert connect["data"]["proxies"][0]["failed_layer"] == "proxy"
    assert status_line in connect["summary"]
    assert words in connect["remedy"]
    assert results["host.127.0.0.1"]["status"] == "skip"
    assert run.exit_code == 1
    assert "s3cret-pass" not in run.stdout + run.stderr


def test_c12_https_proxy_that_speaks_plain_http(
    fake_cloud: FakeCloud, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C12: HTTPS_PROXY=https://... for the loopback proxy, which speaks plain HTTP only."""
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.port}")
    results = run_checks("host.127.0.0.1", timeout=0.5)
    connect = results["proxy.connect"]
    assert connect.status is Status.FAIL
    layers_seen = connect.outcome.data["proxies"][0]["layers"]
    assert [(x["name"], x["ok"]) for x in layers_seen] == [
        ("dns", True),
        ("tcp", True),
        ("proxy-tls", False),
    ]
    assert "does not speak TLS" in connect.outcome.summary
    assert connect.outcome.remedy is not None
    assert f"export HTTPS_PROXY='http://127.0.0.1:{proxy.port}'" in connect.outcome.remedy
    assert results["host.127.0.0.1"].status is Status.SKIP


def test_c25_github_blocked_api_fine_only_warns(
    tls_server: HTTPServer, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C25, built through the loopback proxy's hosts map (no traffic leaves this machine).

    api.syntask.cloud is mapped to the local fake Cloud (its certificate names that host);
    github.com and api.github.com are mapped to a closed local port, so the proxy cannot
    reach them and answers 502, as a corporate proxy does for a blocked destination.
    """
    blocked = ("127.0.0.1", closed_port())
    hosts = {
        "api.syntask.cloud": ("127.0.0.1", tls_server.port),
        "github.com": blocked,
        "api.github.com": blocked,
    }
    tls_server.expect_request("/api/me/workspaces").respond_with_json([workspace_item()])
    tls_server.expect_request(
        f"/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}/health"
    ).respond_with_json(True)
    tls_server.expect_request("/").respond_with_data("", status=404)
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
    monkeypatch.setenv("SYNTASK_API_KEY", "pnu_" + "a" * 36)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
    with LoopbackProxy(hosts=hosts) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        only = "host.api.syntask.cloud,host.github.com,host.api.github.com,api.reach,api.auth"
        only += ",api.workspace"
        run = doctor("--format", "json", "--only", only, "--timeout", "2")
    assert {r[1].rsplit(":", 1)[0] for r in proxy.log.requests} <= set(hosts)
    results = {r["id"]: r for r in run.json()["results"]}
    for github in ("host.github.com", "host.api.github.com"):
        assert results[github]["status"] == "warn", results[github]
        assert "502 Bad Gateway" in results[github]["summary"]
        assert "needed for GitHub-based features" in results[github]["summary"]
    for fine in ("host.api.syntask.cloud", "api.reach", "api.auth", "api.workspace"):
        assert results[fine]["status"] == "pass", results[fine]
    assert run.exit_code == 0
    assert run.json()["verdict"] == "warn"


def test_forwarded_ocsp_request_refused_by_the_proxy_warns_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ocsp.pki.goog is plain http: through HTTP_PROXY the proxy's 407 is proxy.connect's
    warning (the proxy carries no critical host), and the host check defers to it."""
    with LoopbackProxy(mode="basic", credentials=("u", "p")) as refusing:
        monkeypatch.setenv("HTTP_PROXY", refusing.url)
        results = run_checks("host.ocsp.pki.goog")
    connect = results["proxy.connect"]
    assert connect.status is Status.WARN
    assert "407 Proxy Authentication Required" in connect.outcome.summary
    assert results["host.ocsp.pki.goog"].status is Status.SKIP
    assert refusing.log.requests[0][:2] == ("GET", "http://ocsp.pki.goog/")


# TCP, TLS, DNS faults


def test_c27_host_resolves_but_nothing_answers(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C27: localhost resolves; its port drops the SYN (a listener with a full queue)."""
    with black_hole() as port:
        monkeypatch.setenv("SYNTASK_API_URL", f"https://localhost:{port}/api")
        started = time.monotonic()
        results = run_checks("host.localhost", "api.reach", "settings.*", timeout=1.0, deadline=6)
        elapsed = time.monotonic() - started
    host = results["host.localhost"]
    assert host.status is Status.FAIL
    assert layers(host) == [("dns", True), ("tcp", False)]
    assert host.outcome.data["cause"] == "timeout"
    assert "no answer to the TCP connection attempt within 1 s" in host.outcome.summary
    assert host.seconds < 1.0 + 0.5
    assert host.outcome.remedy is not None and f"localhost port {port}" in host.outcome.remedy
    # Every other check still finished, and the whole run stayed far inside its deadline.
    assert all(r.status is not Status.ERROR for r in results.values())
    assert results["api.reach"].status is Status.SKIP
    assert "settings.api_url" in results
    assert elapsed < 6


def test_untrusted_certificate_fails_at_tls_and_names_the_variable_to_fix(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    result = run_checks("host.127.0.0.1")["host.127.0.0.1"]
    assert result.status is Status.FAIL
    assert layers(result)[-1] == ("tls", False)
    assert "unable to get local issuer certificate" in result.outcome.summary
    assert result.outcome.remedy is not None and "SSL_CERT_FILE" in result.outcome.remedy


def test_tls_remedy_names_the_workspace_client_own_ca_setting(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", certifi.where())
    result = run_checks("host.127.0.0.1")["host.127.0.0.1"]
    assert result.status is Status.FAIL
    assert result.outcome.remedy is not None
    assert "today the client trusts SYNTASK_API_SSL_CERT_FILE" in result.outcome.remedy
    assert "syntask-doctor ca-bundle" in result.outcome.remedy


def test_refused_port_fails_at_tcp(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("SYNTASK_API_URL", f"http://127.0.0.1:{port}/api")
    result = run_checks("host.127.0.0.1")["host.127.0.0.1"]
    assert result.status is Status.FAIL
    assert layers(result) == [("dns", True), ("tcp", False)]
    assert "connection refused" in result.outcome.summary
    assert result.outcome.remedy is not None
    assert f"Nothing accepts connections at 127.0.0.1:{port}" in result.outcome.remedy


def test_unresolvable_api_host_fails_at_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local DNS server answers NXDOMAIN; no real resolver is asked."""
    monkeypatch.setenv("SYNTASK_API_URL", "https://doctor-test.invalid/api")
    with LocalDns() as server:
        results = run_with_dns("host.doctor-test.invalid", dns_server=server)
    result = results["host.doctor-test.invalid"]
    assert result.status is Status.FAIL
    assert layers(result) == [("dns", False)]
    assert "DNS lookup of doctor-test.invalid" in result.outcome.summary
    assert "the name does not exist in DNS" in result.outcome.summary
    assert (
        f"NXDOMAIN: the name does not exist in DNS, from DNS server {server.server}"
        in (result.outcome.data["dns"])
    )
    assert result.outcome.remedy is not None
    assert "getent hosts doctor-test.invalid" in result.outcome.remedy


def test_client_that_cannot_be_created_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SYNTASK_API_ENABLE_HTTP2 without the h2 package: the real client fails at creation."""
    if importlib.util.find_spec("h2") is not None:
        pytest.skip("h2 is installed here, so the client can be created")
    monkeypatch.setenv("SYNTASK_API_URL", f"http://127.0.0.1:{closed_port()}/api")
    monkeypatch.setenv("SYNTASK_API_ENABLE_HTTP2", "true")
    result = run_checks("host.127.0.0.1")["host.127.0.0.1"]
    assert result.status is Status.FAIL
    assert "pip install httpx[http2]" in result.outcome.summary
    assert result.outcome.data["failed_layer"] == "client"


def test_a_proxy_answering_in_the_servers_place_is_not_a_trust_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by a new user: a gateway that accepts CONNECT and then hangs up during the TLS
    handshake was met with "trust the CA", though no certificate was ever presented."""

    def gateway(conn: Any, _stop: Any) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        conn.recv(65536)  # the ClientHello, left unanswered: the connection then closes

    with raw_server(gateway) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("SYNTASK_API_URL", "https://syntask.gateway.example/api")
        result = run_checks("host.syntask.gateway.example")["host.syntask.gateway.example"]
    assert result.status is Status.FAIL
    assert result.outcome.data["failed_layer"] == "tls"
    assert result.outcome.remedy is not None
    assert "Trust the CA" not in result.outcome.remedy
    assert "ca-bundle" not in result.outcome.remedy


def test_a_server_that_never_answers_is_not_said_to_disconnect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by a new user: a server silent past the run's deadline was reported as
    'Server disconnected' (the socket the doctor itself closed) and blamed on a device."""

    def silent(conn: Any, stop: Any) -> None:
        read_head(conn)
        stop.wait(15)

    with raw_server(silent) as server:
        monkeypatch.setenv("SYNTASK_API_URL", f"http://127.0.0.1:{server.port}/api")
        result = run_checks("host.127.0.0.1", timeout=10, deadline=2.5)["host.127.0.0.1"]
    assert result.status is Status.FAIL
    assert "disconnected" not in result.outcome.summary.lower()
    assert result.outcome.remedy is not None
    assert "no complete answer in time" in result.outcome.remedy
