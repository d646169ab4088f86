"""api.websocket against a WebSocket-capable API on loopback, direct and through proxies (C15)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import run_checks
from local_servers import RawServer, raw_server, read_head, syntask_api
from proxy_server import LoopbackProxy

from syntask_doctor.model import Result, Status


def text(result: Result) -> str:
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or ""])


@pytest.fixture
def tls(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(context)
    return context


@pytest.fixture
def api(
    tls: ssl.SSLContext, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RawServer]:
    """A self-hosted API over verified TLS whose /api/events/in speaks WebSocket."""
    with raw_server(syntask_api, tls=tls) as server:
        monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{server.port}/api")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
        yield server


def test_websocket_opens_directly(api: RawServer) -> None:
    results = run_checks("api.websocket")
    result = results["api.websocket"]
    assert result.status is Status.PASS, text(result)
    assert result.outcome.summary.startswith("The events WebSocket opens: 101 Switching Protocols")
    assert result.outcome.data["url"] == f"wss://127.0.0.1:{api.port}/api/events/in"
    assert result.outcome.data["layers"] == ["dns", "tcp", "tls", "http"]
    assert results["api.reach"].status is Status.PASS


def test_websocket_opens_through_a_tunnelling_proxy(
    api: RawServer, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    result = run_checks("api.websocket")["api.websocket"]
    assert result.status is Status.PASS, text(result)
    assert result.outcome.data["layers"] == ["dns", "tcp", "proxy", "tls", "http"]
    assert ("CONNECT", f"127.0.0.1:{api.port}") in [r[:2] for r in proxy.log.requests]


@pytest.mark.parametrize(
    ("mode", "answer"),
    [
        ("strip-upgrade", "HTTP 426 Upgrade Required, Upgrade: websocket"),
        ("refuse-upgrade", "HTTP 403 Forbidden, no Upgrade header"),
    ],
)
def test_c15_proxy_that_strips_or_refuses_the_upgrade_is_named_while_rest_works(
    mode: str,
    answer: str,
    api: RawServer,
    tls: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """C15: an inspecting proxy decrypts the tunnel; REST passes, the upgrade does not."""
    with LoopbackProxy(mode=mode, intercept=tls) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        results = run_checks("api.websocket")
    assert results["api.reach"].status is Status.PASS, text(results["api.reach"])
    result = results["api.websocket"]
    assert result.status is Status.FAIL
    summary = result.outcome.summary
    assert summary.startswith(
        f"The proxy {corp.url} (from HTTPS_PROXY) strips or refuses the WebSocket upgrade"
    )
    assert answer in summary
    assert "REST calls work (api.reach passed); the event stream does not" in summary
    assert "allow WebSocket upgrades to 127.0.0.1" in (result.outcome.remedy or "")
    assert ("INSPECT", "GET /api/events/in HTTP/1.1", {"upgrade": "True"}) in corp.log.requests


def test_server_that_does_not_upgrade_is_blamed_when_direct(
    tls: ssl.SSLContext, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No proxy: a reverse proxy in front of the API that drops the upgrade."""

    def no_websocket(conn: socket.socket, stop: threading.Event) -> None:
        head = read_head(conn)
        if b"/events/in" in head:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\ntrue"
        )

    with raw_server(no_websocket, tls=tls) as server:
        monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{server.port}/api")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
        result = run_checks("api.websocket")["api.websocket"]
    assert result.status is Status.FAIL
    assert "The server (or a gateway or reverse proxy in front of it)" in result.outcome.summary
    assert "HTTP 404 Not Found" in result.outcome.summary
    assert "Upgrade: websocket" in (result.outcome.remedy or "")


def test_no_api_url_is_a_skip() -> None:
    result = run_checks("api.websocket")["api.websocket"]
    assert result.status is Status.SKIP
