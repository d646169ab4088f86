"""The layered probe against real local servers: each layer fails the way httpx fails there."""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
import trustme
from dns_server import LocalDns, system_resolver
from local_servers import Handler, black_hole, closed_port, raw_server, read_head
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer

from syntask_doctor import clients
from syntask_doctor.guard import refuse_key
from syntask_doctor.probe import BODY_LIMIT, Probe, Resolver, fetch
from syntask_doctor.probe import resolve as resolve_address
from syntask_doctor.routes import proxy_environment
from syntask_doctor.settings import resolve


def probe(
    url: str,
    timeout: float = 2.0,
    budget: float | None = None,
    headers: dict[str, str] | None = None,
    resolver: Resolver = resolve_address,
) -> Probe:
    """One probe with the workspace client built from the test's real environment."""
    settings = resolve()
    route = proxy_environment(os.environ).route(url)
    return fetch(
        lambda: clients.workspace_client(settings, timeout),
        url,
        route,
        timeout,
        headers,
        budget=budget,
        resolver=resolver,
    )


def names(result: Probe) -> list[tuple[str, bool]]:
    return [(layer.name, layer.ok) for layer in result.layers]


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch, ca_bundle: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))


# Healthy paths


def test_direct_https_has_every_layer_and_the_answer(tls_server: HTTPServer, trusted: None) -> None:
    tls_server.expect_request("/api/health").respond_with_json(True)
    result = probe(tls_server.url_for("/api/health"))
    assert names(result) == [("dns", True), ("tcp", True), ("tls", True), ("http", True)]
    assert result.error is None and result.cause is None
    assert result.answer is not None and result.answer.status == 200
    assert result.answer.content_type == "application/json"
    assert result.answer.body == b"true"
    assert result.layers[0].detail == "127.0.0.1"


def test_plain_http_has_no_tls_layer(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("hi", status=503)
    result = probe(httpserver.url_for("/x"))
    assert names(result) == [("dns", True), ("tcp", True), ("http", True)]
    assert result.answer is not None and result.answer.status == 503


def test_connect_proxy_adds_the_proxy_layer_and_the_proxy_sees_only_connect(
    tls_server: HTTPServer,
    trusted: None,
    proxy: LoopbackProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    tls_server.expect_request("/api/health").respond_with_json(True)
    url = tls_server.url_for("/api/health")
    result = probe(url, headers={"Authorization": "Bearer secret-value-123"})
    assert names(result) == [
        ("dns", True),
        ("tcp", True),
        ("proxy", True),
        ("tls", True),
        ("http", True),
    ]
    assert result.answer is not None and result.answer.status == 200
    method, target, heads = proxy.log.requests[0]
    assert (method, target) == ("CONNECT", f"127.0.0.1:{tls_server.port}")
    # The header went inside the tunnel: the proxy never saw it, the server did.
    assert "authorization" not in heads
    request, _ = tls_server.log[0]
    assert request.headers["Authorization"] == "Bearer secret-value-123"


# Proxy failures


@pytest.mark.parametrize(
    ("mode", "status_line", "cause"),
    [
        ("basic", "407 Proxy Authentication Required", "proxy-407"),
        ("forbid", "403 Forbidden", "proxy-403"),
        ("bad-gateway", "502 Bad Gateway", "proxy-502"),
    ],
)
def test_refused_connect_fails_at_the_proxy_layer_with_its_status_line(
    mode: str, status_line: str, cause: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode=mode, credentials=("alice", "right")) as refusing:
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret-pass@127.0.0.1:{refusing.port}")
        result = probe("https://api.syntask.cloud/api/health")
    assert result.failed_layer == "proxy"
    assert names(result)[-1] == ("proxy", False)
    assert result.cause == cause
    assert result.error is not None and status_line in result.error
    assert "s3cret-pass" not in repr(result.layers) + result.error + result.route.shown
    assert "alice:****@" in result.route.shown
    # Nothing went past the proxy: the only request it saw is the refused CONNECT.
    assert [r[0] for r in refusing.log.requests] == ["CONNECT"]


def test_c12_https_proxy_that_speaks_plain_http_fails_at_proxy_tls(
    trusted: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C12: a real plain-HTTP proxy answers the ClientHello with an HTTP error page."""

    def plain_proxy(conn: socket.socket, _stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with raw_server(plain_proxy) as server:
        monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{server.port}")
        result = probe("https://api.syntask.cloud/api/health")
    assert names(result) == [("dns", True), ("tcp", True), ("proxy-tls", False)]
    assert result.cause == "not-tls"
    assert result.error is not None and "does not speak TLS" in result.error
    assert "WRONG_VERSION_NUMBER" in result.error


def test_c12_https_proxy_that_waits_for_a_request_head_times_out_at_proxy_tls(
    proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C12, the timeout variant: the proxy waits for an HTTP head that never comes."""
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.port}")
    started = time.monotonic()
    result = probe("https://api.syntask.cloud/api/health", timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert result.failed_layer == "proxy-tls"
    assert result.error is not None and "does not speak TLS" in result.error


def test_forwarded_plain_http_gets_the_proxy_refusal_as_a_proxy_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http:// through HTTP_PROXY (the OCSP responder): the 407 is the proxy's, not the host's."""
    with LoopbackProxy(mode="basic", credentials=("u", "p")) as refusing:
        monkeypatch.setenv("HTTP_PROXY", refusing.url)
        result = probe("http://ocsp.pki.goog/")
    assert names(result) == [("dns", True), ("tcp", True), ("proxy", False)]
    assert result.cause == "proxy-407"
    assert result.error is not None and "407" in result.error
    assert refusing.log.requests[0][:2] == ("GET", "http://ocsp.pki.goog/")


# TLS failures


def test_untrusted_ca_fails_at_tls_with_the_verify_message(tls_server: HTTPServer) -> None:
    tls_server.expect_request("/").respond_with_data("ok")
    result = probe(tls_server.url_for("/"))  # certifi only: the test root is unknown
    assert names(result)[-1] == ("tls", False)
    assert result.cause == "untrusted"
    assert result.error is not None
    assert "certificate verification failed" in result.error
    assert "unable to get local issuer certificate" in result.error
    assert tls_server.log == []


def test_wrong_host_name_fails_at_tls(ca: trustme.CA, trusted: None, tmp_path: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("other.example").configure_cert(context)

    def answer(conn: socket.socket, _stop: threading.Event) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with raw_server(answer, tls=context) as server:
        result = probe(f"https://localhost:{server.port}/")
    assert names(result)[-1] == ("tls", False)
    assert result.cause == "hostname"
    assert result.error is not None and "not valid for this host name" in result.error


def test_tls_spoken_to_a_plain_http_port_says_so(httpserver: HTTPServer, trusted: None) -> None:
    result = probe(f"https://127.0.0.1:{httpserver.port}/")
    assert names(result)[-1] == ("tls", False)
    assert result.cause == "not-tls"
    assert result.error is not None and "does not speak TLS" in result.error


def test_server_that_accepts_but_never_speaks_tls_times_out_at_tls(trusted: None) -> None:
    """TCP completes, the handshake never does: the TLS layer times out, not TCP."""

    def silent(_conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(10)

    with raw_server(silent) as server:
        started = time.monotonic()
        result = probe(f"https://127.0.0.1:{server.port}/", timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert names(result) == [("dns", True), ("tcp", True), ("tls", False)]
    assert result.cause == "timeout"
    assert result.error is not None and "TLS handshake got no answer within 0.5 s" in result.error


# TCP and DNS failures


def test_connection_refused_fails_at_tcp() -> None:
    result = probe(f"https://127.0.0.1:{closed_port()}/")
    assert names(result) == [("dns", True), ("tcp", False)]
    assert result.cause == "refused"
    assert result.error is not None and "connection refused" in result.error


def test_c27_dropped_connection_attempt_times_out_at_tcp_within_the_timeout() -> None:
    """C27 at the probe level: the address exists, the SYN is never answered."""
    with black_hole() as port:
        started = time.monotonic()
        result = probe(f"https://localhost:{port}/", timeout=0.7)
        elapsed = time.monotonic() - started
    assert names(result) == [("dns", True), ("tcp", False)]
    assert result.cause == "timeout"
    assert result.error is not None and "no answer to the TCP connection attempt" in result.error
    assert 0.6 < elapsed < 0.7 + 1.0


@pytest.mark.parametrize(
    ("fault", "cause", "words"),
    [
        ("nxdomain", "dns", "the name does not exist in DNS (or no DNS server knows it)"),
        ("servfail", "dns", "no DNS server answered (temporary failure in name resolution)"),
        ("drop", "timeout", "got no answer within 0.5 s"),
    ],
)
def test_dns_failure_fails_at_dns_before_any_connection(fault: str, cause: str, words: str) -> None:
    """The local DNS server's answer, through the system-resolver seam."""
    with LocalDns(default=fault) as server:
        result = probe("https://doctor-test.invalid/", 0.5, resolver=system_resolver(server))
    assert names(result) == [("dns", False)]
    assert result.cause == cause
    assert result.error is not None
    assert result.error.startswith("DNS lookup of doctor-test.invalid")
    assert words in result.error


def test_dns_of_the_proxy_is_what_counts_when_routed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.doctor-test.invalid:3128")
    with LocalDns() as server:
        result = probe("https://api.syntask.cloud/", resolver=system_resolver(server))
    assert names(result) == [("dns", False)]
    assert result.error is not None and "proxy.doctor-test.invalid" in result.error
    assert server.queries[0][0] == "proxy.doctor-test.invalid"


# Servers that hang or lie: never a traceback, never past the budget


def _garbage(conn: socket.socket, _stop: threading.Event) -> None:
    read_head(conn)
    conn.sendall(b"\x00\xff\xfegarbage\r\n\r\n")


def _close_early(conn: socket.socket, _stop: threading.Event) -> None:
    read_head(conn)


def _huge_headers(conn: socket.socket, _stop: threading.Event) -> None:
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")


def _broken_body(conn: socket.socket, _stop: threading.Event) -> None:
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")


@pytest.mark.parametrize(
    ("handler", "words"),
    [
        (_garbage, "illegal status line"),
        (_close_early, "disconnected without sending a response"),
        (_huge_headers, "the server broke the HTTP exchange"),
        (_broken_body, "without sending complete message body"),
    ],
    ids=["garbage", "closes-early", "huge-headers", "broken-body"],
)
def test_lying_server_fails_at_http_in_words(handler: Handler, words: str) -> None:
    with raw_server(handler) as server:
        result = probe(f"http://127.0.0.1:{server.port}/", timeout=2.0)
    assert result.failed_layer == "http"
    assert result.cause == "protocol"
    assert result.error is not None and words in result.error
    assert [layer.name for layer in result.layers] == ["dns", "tcp", "http"]


def test_endless_body_is_cut_at_the_limit() -> None:
    def endless(conn: socket.socket, stop: threading.Event) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b"x" * 16384)

    with raw_server(endless) as server:
        result = probe(f"http://127.0.0.1:{server.port}/")
    assert result.error is None
    assert result.answer is not None and len(result.answer.body) == BODY_LIMIT


def test_silent_http_server_times_out_at_http() -> None:
    def silent(conn: socket.socket, stop: threading.Event) -> None:
        read_head(conn)
        stop.wait(10)

    with raw_server(silent) as server:
        result = probe(f"http://127.0.0.1:{server.port}/", timeout=0.5)
    assert names(result)[-1] == ("http", False)
    assert result.cause == "timeout"
    assert result.error is not None and "sent no HTTP answer within 0.5 s" in result.error


def test_trickling_server_is_stopped_by_the_budget() -> None:
    """Each byte comes within the step timeout, so only the whole-probe budget ends it."""

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        read_head(conn)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if stop.wait(0.05):
                return
            conn.sendall(bytes([byte]))

    with raw_server(trickle) as server:
        started = time.monotonic()
        result = probe(f"http://127.0.0.1:{server.port}/", timeout=1.0, budget=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert result.failed_layer == "http"
    assert result.cause == "timeout"
    assert result.error is not None and "probe's limit of 1 s" in result.error


def test_redirect_is_an_answer_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/health").respond_with_data(
        "", status=307, headers={"Location": "/elsewhere"}
    )
    result = probe(httpserver.url_for("/api/health"))
    assert result.answer is not None and result.answer.status == 307
    assert result.answer.headers["location"] == "/elsewhere"
    assert len(httpserver.log) == 1


def test_a_bad_ca_file_raises_client_setup_error_before_any_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    expected = r"CA file \S*missing\.pem chosen by SSL_CERT_FILE: ."
    with pytest.raises(clients.ClientSetupError, match=expected):
        probe("https://127.0.0.1:9/")


# Where the key may go


def test_key_goes_only_to_the_api_host_over_verified_tls_or_loopback_http() -> None:
    allowed = {"api.syntask.cloud"}
    assert refuse_key("https://api.syntask.cloud/api/x", allowed, verified=True) is None
    assert "not the configured API host" in str(
        refuse_key("https://evil.example/api", allowed, verified=True)
    )
    assert "verification is switched off" in str(
        refuse_key("https://api.syntask.cloud/api", allowed, verified=False)
    )
    assert "clear text" in str(refuse_key("http://api.syntask.cloud/api", allowed, True))
    local = {"127.0.0.1"}
    assert refuse_key("http://127.0.0.1:4200/api", local, verified=False) is None
    assert refuse_key("http://127.0.0.1:4200/api", local, False, "http://127.0.0.1:3128") is None
    assert "proxy on another machine" in str(
        refuse_key("http://127.0.0.1:4200/api", local, False, "http://proxy.corp.example:8080")
    )
