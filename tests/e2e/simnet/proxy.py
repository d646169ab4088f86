"""Corporate proxies of the simulated internet: a CONNECT tunnel, one that demands Basic
credentials, and one that inspects TLS by re-signing every host with its own root.

A proxy resolves names from the simulated zone it is given, never through this machine's
resolver, and its threads live in its namespace, so it can reach only simulated hosts.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import socketserver
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from .namespaces import Namespace

IDLE = 10.0
"""Seconds a tunnel may stay silent before the proxy closes it."""
CONNECT_TIMEOUT = 5.0

BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
FORBIDDEN = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
AUTH_REQUIRED = (
    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
    b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
)


@dataclass(frozen=True)
class Seen:
    """One request head the proxy received (credentials included, for the tests to read)."""

    method: str
    target: str
    headers: dict[str, str]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up mid-tunnel are ordinary."""


class Proxy:
    """Modes: ``tunnel``; ``basic`` (407 unless ``credentials`` come as Basic);
    ``inspect`` (TLS is terminated with ``inspect_context(host)`` and re-originated with
    ``upstream_context``; with ``refuse_upgrades`` it answers WebSocket handshakes 403, as
    gateways that only know plain HTTP do)."""

    def __init__(
        self,
        ns: Namespace,
        address: str,
        port: int,
        resolve: Callable[[str], str | None],
        *,
        mode: str = "tunnel",
        credentials: tuple[str, str] | None = None,
        inspect_context: Callable[[str], ssl.SSLContext] | None = None,
        upstream_context: ssl.SSLContext | None = None,
        refuse_upgrades: bool = False,
    ) -> None:
        self.resolve = resolve
        self.mode = mode
        self.credentials = credentials
        self.inspect_context = inspect_context
        self.upstream_context = upstream_context
        self.refuse_upgrades = refuse_upgrades
        self.seen: list[Seen] = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self._server = ns.call(lambda: _Server((address, port), Handler))
        ns.thread(lambda: self._server.serve_forever(poll_interval=0.05), f"proxy {port}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                return
            head += chunk
        raw, _, rest = head.partition(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        self.seen.append(Seen(method, target, headers))
        if self.mode == "basic" and not self.authorised(headers):
            conn.sendall(AUTH_REQUIRED)
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            self._connect(conn, host, int(port), rest)
        else:
            self._forward(conn, method, target, lines, rest)

    def authorised(self, headers: dict[str, str]) -> bool:
        user, password = self.credentials or ("", "")
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers.get("proxy-authorization") == expected

    def _open(self, host: str, port: int) -> socket.socket | None:
        address = self.resolve(host)
        if address is None:
            return None
        try:
            upstream = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT)
        except OSError:
            return None
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream

    def _connect(self, conn: socket.socket, host: str, port: int, early: bytes) -> None:
        upstream = self._open(host, port)
        if upstream is None:
            conn.sendall(BAD_GATEWAY)
            return
        with upstream:
            upstream.settimeout(IDLE)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.mode == "inspect":
                self._inspect(conn, host, upstream)
                return
            if early:
                upstream.sendall(early)
            _relay(conn, upstream)

    def _inspect(self, conn: socket.socket, host: str, upstream: socket.socket) -> None:
        """Terminate the client's TLS with a re-signed certificate, open TLS to the host."""
        assert self.inspect_context is not None and self.upstream_context is not None
        try:
            client_side = self.inspect_context(host).wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused the re-signed certificate
        with client_side:
            early = b""
            if self.refuse_upgrades:
                early = _read_head(client_side)
                if b"\r\nupgrade: websocket" in early.lower():
                    client_side.sendall(FORBIDDEN)
                    return
            try:
                server_side = self.upstream_context.wrap_socket(upstream, server_hostname=host)
            except (ssl.SSLError, OSError):
                return
            with server_side:
                server_side.sendall(early)
                _relay(client_side, server_side)

    def _forward(
        self, conn: socket.socket, method: str, target: str, lines: list[str], rest: bytes
    ) -> None:
        """Plain-HTTP forwarding of an absolute-URI request (``http://`` through HTTP_PROXY)."""
        authority, _, path = target.split("://", 1)[-1].partition("/")
        host, _, port = authority.partition(":")
        upstream = self._open(host, int(port or 80))
        if upstream is None:
            conn.sendall(BAD_GATEWAY)
            return
        kept = [line for line in lines[1:] if not line.lower().startswith(("proxy-", "connection"))]
        head = "\r\n".join([f"{method} /{path} HTTP/1.1", *kept, "Connection: close"])
        with upstream:
            upstream.settimeout(IDLE)
            upstream.sendall(head.encode("latin-1") + b"\r\n\r\n" + rest)
            _relay(conn, upstream)


def _read_head(conn: socket.socket) -> bytes:
    """Bytes up to the end of the first request head (or all there was, if it broke off)."""
    head = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(65536)
            if not chunk:
                break
            head += chunk
    return head


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until one side closes or both stay silent for ``IDLE``.

    Reads never block: a TLS record that carries no data (a session ticket) would otherwise
    leave the relay waiting on one side while the other side's request sits unread. TLS
    sockets may also hold decrypted bytes that ``select`` cannot see: ``pending`` first.
    """
    with contextlib.suppress(OSError):
        for sock in (a, b):
            sock.setblocking(False)
        while True:
            ready: list[socket.socket] = [
                s for s in (a, b) if isinstance(s, ssl.SSLSocket) and s.pending()
            ]
            if not ready:
                ready, _, _ = select.select([a, b], [], [], IDLE)
            if not ready:
                return
            for sock in ready:
                try:
                    data = sock.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                if not data:
                    return
                other = b if sock is a else a
                other.settimeout(IDLE)
                other.sendall(data)
                other.setblocking(False)
