"""dns.resolve and the DNS layer of host checks, against a real DNS server on loopback.

No test asks the machine's own resolver: the doctor is pointed at the local server through
the context's ``nameservers``, and its system resolver is ``dns_server.system_resolver``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from conftest import FakeCloud, everything_with_data
from dns_server import Entry, LocalDns, run_with_dns
from proxy_server import LoopbackProxy

from syntask_doctor.hosts import ALLOW_LIST
from syntask_doctor.model import Status

PUBLIC = {name: Entry(a=("192.0.2.1",)) for name, _, _ in ALLOW_LIST}
CORP_API = "https://api.corp.test/api"


@pytest.fixture
def zone() -> dict[str, Entry]:
    """Every allow-list host resolves; the API host is a CNAME chain to an edge name."""
    return {
        **PUBLIC,
        "api.syntask.cloud": Entry(cname="edge.cdn.test", ttl=30),
        "edge.cdn.test": Entry(a=("192.0.2.10",), aaaa=("2001:db8::10",), ttl=60),
    }


@pytest.fixture
def local_dns(zone: dict[str, Entry]) -> Iterator[LocalDns]:
    with LocalDns(zone) as server:
        yield server


# Healthy


def test_healthy_answers_with_ttls_and_the_cname_chain(local_dns: LocalDns) -> None:
    result = run_with_dns("dns.resolve", dns_server=local_dns)["dns.resolve"]
    assert result.status is Status.PASS, everything_with_data(result)
    assert f"DNS servers: {local_dns.server} (given to the doctor)" in result.outcome.details
    line = next(x for x in result.outcome.details if x.startswith("api.syntask.cloud "))
    assert "A 192.0.2.10 (TTL 60 s)" in line
    assert "AAAA 2001:db8::10 (TTL 60 s)" in line
    assert "CNAME api.syntask.cloud -> edge.cdn.test (TTL 30 s)" in line
    assert "system resolver: 192.0.2.10, 2001:db8::10" in line
    names = {n["name"]: n for n in result.outcome.data["names"]}
    assert names["api.syntask.cloud"]["dns"]["A"]["records"] == [
        {"address": "192.0.2.10", "ttl": 60}
    ]
    assert names["api.syntask.cloud"]["cnames"] == [{"name": "edge.cdn.test", "ttl": 30}]
    assert ("api.syntask.cloud", "AAAA") in local_dns.queries


# Each failure told apart, the server named


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("nxdomain", "NXDOMAIN: the name does not exist in DNS"),
        ("servfail", "SERVFAIL: the DNS server could not get an answer"),
        ("refused", "REFUSED: this DNS server will not answer for this machine"),
        ("empty", "no A record (NOERROR, empty answer)"),
        ("drop", "no answer within 0.5 s"),
    ],
)
def test_each_dns_failure_is_named_with_its_server(
    fault: str, words: str, zone: dict[str, Entry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", CORP_API)
    zone["api.corp.test"] = Entry(fault=fault)
    with LocalDns(zone) as server:
        results = run_with_dns("dns.resolve", "host.api.corp.test", dns_server=server, timeout=0.5)
    check = results["dns.resolve"]
    assert check.status is Status.WARN
    summary = check.outcome.summary
    assert summary.startswith("api.corp.test cannot be resolved on this machine")
    assert words in summary
    assert f"from DNS server {server.server}" in summary
    assert "host.api.corp.test fails on it" in summary
    host = results["host.api.corp.test"]
    assert host.status is Status.FAIL
    assert host.outcome.data["failed_layer"] == "dns"
    assert words in host.outcome.data["dns"]
    assert any(line.startswith("DNS asked directly: ") for line in host.outcome.details)


# C24: a proxy carries the traffic


def test_c24_no_local_dns_but_the_proxy_reaches_everything(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C24: local DNS fails for every public name; the proxy resolves them for the client."""
    monkeypatch.setenv("SYNTASK_API_URL", "https://api.syntask.cloud/api")
    monkeypatch.setenv("NO_PROXY", "localhost,.corp.test")
    fake_cloud.server.expect_request("/").respond_with_data("", status=404)
    hosts = {"api.syntask.cloud": ("127.0.0.1", fake_cloud.server.port)}
    with LocalDns({}, default="servfail") as server, LoopbackProxy(hosts=hosts) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        monkeypatch.setenv("HTTP_PROXY", corp.url)
        results = run_with_dns("dns.resolve", "host.api.syntask.cloud", dns_server=server)
    host = results["host.api.syntask.cloud"]
    assert host.status is Status.PASS, everything_with_data(host)
    assert host.outcome.data["layers"][0]["detail"] == "127.0.0.1"  # only the proxy resolved
    check = results["dns.resolve"]
    assert check.status is Status.WARN
    summary = check.outcome.summary
    assert summary.startswith("Local DNS cannot resolve api.syntask.cloud, app.syntask.cloud")
    assert "SERVFAIL" in summary
    assert "the client is not affected, as the proxy resolves the names it carries" in summary
    assert "still needing local DNS: any host matching NO_PROXY (localhost, .corp.test)" in summary
    assert results["proxy.connect"].status is Status.PASS


def test_c24_what_still_needs_local_dns_is_named(
    monkeypatch: pytest.MonkeyPatch, zone: dict[str, Entry]
) -> None:
    """HTTPS_PROXY only: plain-http OCSP and NO_PROXY hosts still resolve locally."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "github.com")
    zone["api.syntask.cloud"] = Entry(fault="nxdomain")
    with LocalDns(zone) as server:
        check = run_with_dns("dns.resolve", dns_server=server)["dns.resolve"]
    assert check.status is Status.WARN
    summary = check.outcome.summary
    assert summary.startswith("Local DNS cannot resolve api.syntask.cloud (A: NXDOMAIN")
    assert "github.com (NO_PROXY entry 'github.com' sends it direct)" in summary
    assert "ocsp.pki.goog (http:// traffic, which no proxy variable covers)" in summary


# The system resolver against DNS


def test_hosts_file_entry_that_dns_contradicts_is_reported(
    local_dns: LocalDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_with_dns(
        "dns.resolve", dns_server=local_dns, hosts={"api.syntask.cloud": ("10.9.9.9",)}
    )["dns.resolve"]
    assert result.status is Status.WARN
    assert result.outcome.summary == (
        "The system resolver answers 10.9.9.9 for api.syntask.cloud, but DNS answers"
        " 192.0.2.10, 2001:db8::10: the client uses the system's answer, likely an"
        " /etc/hosts entry"
    )
    assert "getent hosts api.syntask.cloud" in (result.outcome.remedy or "")


def test_name_only_in_the_hosts_file_is_reported(
    zone: dict[str, Entry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", CORP_API)
    with LocalDns(zone) as server:
        result = run_with_dns(
            "dns.resolve", dns_server=server, hosts={"api.corp.test": ("10.1.1.1",)}
        )["dns.resolve"]
    assert result.status is Status.WARN
    assert "answers 10.1.1.1 for api.corp.test, but DNS does not know it (NXDOMAIN)" in (
        result.outcome.summary
    )


def test_a_dead_first_server_that_stalls_every_lookup(local_dns: LocalDns) -> None:
    with LocalDns({}, default="drop") as dead:
        started = time.monotonic()
        result = run_with_dns(
            "dns.resolve",
            dns_server=local_dns,
            nameservers=(dead.server, local_dns.server),
            timeout=0.4,
        )["dns.resolve"]
        elapsed = time.monotonic() - started
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        f"DNS server {dead.server} fails (timeout) and the next one answers"
    )
    assert "waits up to 0.4 s" in result.outcome.summary
    assert elapsed < 3.0  # names are asked in parallel, not one timeout per name


def test_proxy_name_needs_local_dns(
    zone: dict[str, Entry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.test:3128")
    with LocalDns(zone) as server:
        result = run_with_dns("dns.resolve", dns_server=server)["dns.resolve"]
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        "proxy.corp.test cannot be resolved on this machine (the proxy's own name (from"
        " HTTPS_PROXY))"
    )
    assert "proxy.connect fails on it" in result.outcome.summary
