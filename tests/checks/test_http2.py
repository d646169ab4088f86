"""tls.http2 (C23): SYNTASK_API_ENABLE_HTTP2 with and without h2, with a server that speaks
HTTP/2, an inspecting proxy that does not, and a device that accepts HTTP/2 and breaks it.

h2 comes with the test extra. Its absence is made by blocking the import
(``sys.modules['h2'] = None``), which raises the same ImportError as a missing package, in
httpx and in the doctor alike. Tests that need h2 skip where it is not installed.
"""

from __future__ import annotations

import importlib.util
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import everything, run_checks
from proxy_server import LoopbackProxy
from test_probe import raw_server, read_head
from tls_fixtures import (
    InspectingProxy,
    Pki,
    World,
    cloud,
    pem,
    through,
)

from syntask_doctor.model import Result, Status

needs_h2 = pytest.mark.skipif(
    importlib.util.find_spec("h2") is None, reason="h2 is not installed (pip install -e '.[test]')"
)


def http11(conn: socket.socket) -> None:
    read_head(conn)
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def speak_h2(conn: ssl.SSLSocket, stop: threading.Event) -> None:
    """Answer every HTTP/2 request 404, with the h2 package on the server side."""
    import h2.config  # noqa: PLC0415 - only where h2 is installed
    import h2.connection  # noqa: PLC0415
    import h2.events  # noqa: PLC0415

    if conn.selected_alpn_protocol() != "h2":
        http11(conn)
        return
    link = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    link.initiate_connection()
    conn.sendall(link.data_to_send())
    while not stop.is_set():
        data = conn.recv(65535)
        if not data:
            return
        for event in link.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                headers = [(":status", "404"), ("content-length", "0")]
                link.send_headers(event.stream_id, headers, end_stream=True)
        conn.sendall(link.data_to_send())


def break_h2(conn: ssl.SSLSocket, _stop: threading.Event) -> None:
    """A device that agrees to HTTP/2 in ALPN and then answers nonsense."""
    if conn.selected_alpn_protocol() == "h2":
        conn.sendall(b"\x00\x00\x04\x99garbage that is no HTTP/2 frame")
        return
    http11(conn)


@contextmanager
def api_server(world: World, handler: object) -> Iterator[dict[str, tuple[str, int]]]:
    context = world.api_leaf.server_context(alpn=("h2", "http/1.1"))
    with raw_server(handler, context) as server:  # type: ignore[arg-type]
        yield {**world.hosts, "api.syntask.cloud": ("127.0.0.1", server.port)}


def http2_check() -> Result:
    return run_checks("tls.http2")["tls.http2"]


def test_c23_h2_missing_fails_with_the_install_command(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C23 without h2: the real client would raise ImportError at creation."""
    monkeypatch.setitem(sys.modules, "h2", None)
    monkeypatch.setenv("SYNTASK_API_ENABLE_HTTP2", "true")
    with cloud(pki, monkeypatch) as world, LoopbackProxy(hosts=world.hosts) as proxy:
        through(monkeypatch, proxy)
        result = http2_check()
    assert result.status is Status.FAIL, everything(result)
    assert "the h2 package is missing" in result.outcome.summary
    remedy = result.outcome.remedy or ""
    assert remedy.startswith("pip install 'httpx[http2]'")
    assert 'export SYNTASK_API_ENABLE_HTTP2="false"' in remedy


def test_http2_off_passes(pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with cloud(pki, monkeypatch) as world, LoopbackProxy(hosts=world.hosts) as proxy:
        through(monkeypatch, proxy)
        result = http2_check()
    assert result.status is Status.PASS
    assert result.outcome.summary.startswith("HTTP/2 is off")


@needs_h2
def test_c23_h2_negotiated_through_a_tunnelling_proxy(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_ENABLE_HTTP2", "true")
    with (
        cloud(pki, monkeypatch) as world,
        api_server(world, speak_h2) as hosts,
        LoopbackProxy(hosts=hosts) as proxy,
    ):
        through(monkeypatch, proxy)
        result = http2_check()
    assert result.status is Status.PASS, everything(result)
    assert result.outcome.summary.startswith("HTTP/2 with api.syntask.cloud (proxy http://")
    assert result.outcome.data["alpn"] == "h2"
    assert result.outcome.data["http_version"] == "HTTP/2"


@needs_h2
def test_c23_inspecting_proxy_without_http2_falls_back_and_says_so(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "corp.pem"
    bundle.write_bytes(public.read_bytes() + pem(pki.corp_root.cert))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SYNTASK_API_ENABLE_HTTP2", "true")
    with (
        cloud(pki, monkeypatch) as world,
        api_server(world, speak_h2) as hosts,
        InspectingProxy(pki.corp_root, hosts, public) as proxy,
    ):
        through(monkeypatch, proxy)
        result = http2_check()
    assert result.status is Status.PASS, everything(result)
    assert "ALPN chose http/1.1: the proxy on the route" in result.outcome.summary
    assert result.outcome.data["http_version"] == "HTTP/1.1"


@needs_h2
def test_c23_http2_that_breaks_fails_and_proposes_turning_it_off(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_ENABLE_HTTP2", "true")
    with (
        cloud(pki, monkeypatch) as world,
        api_server(world, break_h2) as hosts,
        LoopbackProxy(hosts=hosts) as proxy,
    ):
        through(monkeypatch, proxy)
        result = http2_check()
    assert result.status is Status.FAIL, everything(result)
    assert result.outcome.summary.startswith("HTTP/2 breaks the connection to the API")
    assert "while HTTP/1.1 works" in result.outcome.summary
    assert result.outcome.remedy == 'Turn HTTP/2 off: export SYNTASK_API_ENABLE_HTTP2="false"' + (
        " (where your shell, CI or container sets it)"
    )
