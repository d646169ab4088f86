"""A real HTTP proxy on loopback for tests: CONNECT tunnels and plain forwarding, fault modes."""

from __future__ import annotations

import base64
import select
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class ProxyLog:
    """What the proxy saw: one entry per request head, credentials included (tests read them)."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


_REFUSALS = {
    "forbid": b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    "bad-gateway": b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
    "unavailable": b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    "gateway-timeout": b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\n\r\n",
}


class LoopbackProxy:
    """Modes: ``tunnel``, ``basic`` (407 unless the right Basic credentials come),
    ``ntlm`` (407 offering only Negotiate and NTLM), ``forbid`` (403), ``bad-gateway`` (502),
    ``unavailable`` (503), ``gateway-timeout`` (504), ``hang`` (accepts, never answers),
    ``slow`` (a tunnel, but each answer comes after ``delay`` seconds), and two inspecting
    modes that decrypt tunnels with ``intercept`` (a server context whose certificate names
    the target): ``strip-upgrade`` removes WebSocket upgrade headers, ``refuse-upgrade``
    answers an upgrade with 403. Other requests they pass on.

    ``hosts`` maps names to (address, port) so that a test can reach a local server under a
    public name, as a corporate proxy that resolves names itself would. ``tls`` makes the
    proxy itself speak TLS (an ``https://`` proxy) with that server context.
    """

    def __init__(
        self,
        mode: str = "tunnel",
        credentials: tuple[str, str] | None = None,
        hosts: dict[str, tuple[str, int]] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        intercept: ssl.SSLContext | None = None,
        delay: float = 0.0,
    ) -> None:
        self.mode = mode
        self.credentials = credentials
        self.hosts = hosts or {}
        self.tls = tls
        self.intercept = intercept
        self.delay = delay
        self.log = ProxyLog()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = self.request
                if proxy.tls is not None:
                    try:
                        conn = proxy.tls.wrap_socket(conn, server_side=True)
                    except (OSError, ssl.SSLError):
                        return
                proxy._handle(conn)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _target(self, host: str, port: int) -> tuple[str, int]:
        return self.hosts.get(host, (host, port))

    def _handle(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        method, target, headers, lines, rest = request
        self.log.requests.append((method, target, headers))
        if self.mode == "hang":
            threading.Event().wait(30)
            return
        if self.mode == "slow":
            time.sleep(self.delay)
        refusal = self._refusal(headers)
        if refusal:
            conn.sendall(refusal)
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection(self._target(host, int(port)), timeout=5)
            except OSError:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.mode.endswith("-upgrade") and self.intercept is not None:
                self._inspect(conn, upstream, host)
                return
            if rest:
                upstream.sendall(rest)
            _pipe(conn, upstream)
            return
        self._forward(conn, method, target, lines, rest)

    def _inspect(self, conn: socket.socket, upstream: socket.socket, host: str) -> None:
        """Decrypt the tunnel, judge the request head, re-encrypt towards the host."""
        assert self.intercept is not None
        outward = ssl.create_default_context()
        outward.check_hostname = False
        outward.verify_mode = ssl.CERT_NONE
        try:
            inner = self.intercept.wrap_socket(conn, server_side=True)
            far = outward.wrap_socket(upstream, server_hostname=host)
            head = _read_head(inner)
        except (OSError, ssl.SSLError):
            upstream.close()
            return
        raw_head, _, rest = head.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        upgrade = any(line.lower().startswith("upgrade:") for line in lines[1:])
        self.log.requests.append(("INSPECT", lines[0], {"upgrade": str(upgrade)}))
        if upgrade and self.mode == "refuse-upgrade":
            page = b"<html><head><title>Blocked</title></head><body>WebSocket</body></html>"
            inner.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n"
                + f"Content-Length: {len(page)}\r\nConnection: close\r\n\r\n".encode()
                + page
            )
            far.close()
            return
        kept = [
            line
            for line in lines[1:]
            if not line.lower().startswith(("upgrade:", "connection:", "sec-websocket-"))
        ]
        forwarded = "\r\n".join([lines[0], *kept, "Connection: close"]) + "\r\n\r\n"
        far.sendall(forwarded.encode("latin-1") + rest)
        _pipe(inner, far)

    def _refusal(self, headers: dict[str, str]) -> bytes | None:
        if self.mode in _REFUSALS:
            return _REFUSALS[self.mode]
        if self.mode == "ntlm":
            return (
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b"Proxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\n"
                b"Content-Length: 0\r\n\r\n"
            )
        if self.mode == "basic":
            user, password = self.credentials or ("", "")
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if headers.get("proxy-authorization") != expected:
                return (
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n'
                )
        return None

    def _forward(
        self, conn: socket.socket, method: str, target: str, lines: list[str], rest: bytes
    ) -> None:
        """Plain-HTTP forwarding of an absolute-URI request, as for OCSP over ``HTTP_PROXY``."""
        without_scheme = target.split("://", 1)[1]
        authority, _, path = without_scheme.partition("/")
        host, _, port = authority.partition(":")
        try:
            upstream = socket.create_connection(self._target(host, int(port or 80)), timeout=5)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        kept = [line for line in lines[1:] if not line.lower().startswith(("proxy-", "connection"))]
        head = "\r\n".join([f"{method} /{path} HTTP/1.1", *kept, "Connection: close"]) + "\r\n\r\n"
        upstream.sendall(head.encode("latin-1") + rest)
        _pipe(conn, upstream)


def _read_head(conn: socket.socket) -> bytes:
    conn.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            break
        head += chunk
    return head


Request = tuple[str, str, dict[str, str], list[str], bytes]
"""method, target, headers (lower-case names), the head's lines, bytes read past the head."""


def read_request(conn: socket.socket) -> Request | None:
    """Read one request head from a client; ``None`` if it hangs up first."""
    conn.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        head += chunk
    raw_head, _, rest = head.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    return method, target, headers, lines, rest


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    try:
        while True:
            # TLS may hold decrypted bytes that select() cannot see.
            readable = [s for s in sockets if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not readable:
                readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()
