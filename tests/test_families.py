"""IPv4 and IPv6 tried apart: a dead family is reported with the stall it causes (or not)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from conftest import FakeCloud
from dns_server import LocalDns, run_with_dns
from local_servers import black_hole_v6, closed_port

from syntask_doctor.families import CLIENT_TIMEOUT, try_families, verdict
from syntask_doctor.model import Status


@pytest.fixture
def ipv4_server() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_both_families_working_says_nothing(ipv4_server: int) -> None:
    v6 = socket.socket(socket.AF_INET6)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        v6.bind(("::1", ipv4_server))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    v6.listen()
    with v6:
        tries = try_families(["::1", "127.0.0.1"], ipv4_server, 1.0)
    assert [(t.family, t.ok) for t in tries] == [("IPv6", True), ("IPv4", True)]
    assert verdict(["::1", "127.0.0.1"], tries) is None


def test_dead_ipv6_tried_first_stalls_every_connection(ipv4_server: int) -> None:
    with black_hole_v6(ipv4_server) as port:
        tries = try_families(["::1", "127.0.0.1"], port, 0.5)
    result = verdict(["::1", "127.0.0.1"], tries)
    assert result is not None
    stalls, sentence = result
    assert stalls
    assert sentence.startswith("IPv6 (::1) fails (timeout) while IPv4 (127.0.0.1) connects")
    assert f"up to {CLIENT_TIMEOUT:g} s with the client's" in sentence
    dead = next(t for t in tries if t.family == "IPv6")
    assert 0.4 < dead.seconds < 1.0


def test_dead_ipv6_tried_after_ipv4_costs_nothing(ipv4_server: int) -> None:
    with black_hole_v6(ipv4_server) as port:
        tries = try_families(["127.0.0.1", "::1"], port, 0.5)
    result = verdict(["127.0.0.1", "::1"], tries)
    assert result == (
        False,
        "IPv6 (::1) fails (timeout) while IPv4 (127.0.0.1) connects; IPv4 is tried first,"
        " so nothing waits for IPv6",
    )


def test_refusing_ipv4_first_fails_at_once_without_stall() -> None:
    port = closed_port()
    v6 = socket.socket(socket.AF_INET6)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        v6.bind(("::1", port))
    except OSError:
        pytest.skip("no IPv6 loopback here, or the port is taken")
    v6.listen()
    with v6:
        tries = try_families(["127.0.0.1", "::1"], port, 0.5)
    result = verdict(["127.0.0.1", "::1"], tries)
    assert result is not None
    assert result[0] is False
    assert "IPv4 (127.0.0.1) fails (Connection refused)" in result[1]
    assert "fails at once: no stall" in result[1]


def test_host_check_warns_about_the_stall_of_a_dead_ipv6(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """localhost is IPv6 then IPv4 in this stand-in /etc/hosts (the machine's own has only
    IPv4); the fake Cloud listens on IPv4, IPv6 drops connections on the same port."""
    port = fake_cloud.server.port
    fake_cloud.server.expect_request("/").respond_with_data("", status=404)
    monkeypatch.setenv("SYNTASK_API_URL", f"https://localhost:{port}/api")
    with black_hole_v6(port), LocalDns() as server:
        results = run_with_dns(
            "host.localhost",
            dns_server=server,
            hosts={"localhost": ("::1", "127.0.0.1")},
            timeout=0.5,
        )
    host = results["host.localhost"]
    assert host.status is Status.WARN
    assert "reachable (direct): HTTP 404" in host.outcome.summary
    assert "but IPv6 (::1) fails (timeout) while IPv4 (127.0.0.1) connects" in host.outcome.summary
    assert "gai.conf" in (host.outcome.remedy or "")
    assert [f["family"] for f in host.outcome.data["families"]] == ["IPv6", "IPv4"]
    assert host.outcome.data["family_stall"] is True
    assert [layer["name"] for layer in host.outcome.data["layers"]] == ["dns", "tcp", "tls", "http"]
