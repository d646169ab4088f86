"""Local servers for tests: raw TCP/TLS servers that hang or lie, dropped and closed ports."""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

Handler = Callable[[socket.socket, threading.Event], None]
"""Runs one accepted connection; the event is set when the server closes."""

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class RawServer:
    """A loopback TCP server whose connections run ``handler``: servers that hang or lie."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                self.handler(conn, self.stop)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@contextmanager
def raw_server(handler: Handler, tls: ssl.SSLContext | None = None) -> Iterator[RawServer]:
    server = RawServer(handler, tls)
    try:
        yield server
    finally:
        server.close()


def read_head(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            break
        head += chunk
    return head


@contextmanager
def black_hole(address: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
    """A loopback port that drops connection attempts: a listener whose queue is full.

    Linux drops a SYN when the listener's accept queue is full (``listen(0)``, never
    accepted), so a new connection gets no answer at all, as with a firewall that drops
    packets. This is the TCP layer timing out for real, with no traffic off this machine.
    ``address`` may be ``::1``; ``port`` picks the port (to sit beside another server).
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family)
    if family == socket.AF_INET6:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        listener.bind((address, port))
    except OSError as exc:
        listener.close()
        pytest.skip(f"cannot listen on {address} here: {exc}")
    listener.listen(0)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    try:
        for _ in range(32):
            attempt = socket.socket(family)
            attempt.settimeout(0.3)
            try:
                attempt.connect((address, port))
            except TimeoutError:
                attempt.close()
                break
            held.append(attempt)
        else:
            pytest.skip("this kernel accepts every connection even with a full queue")
        yield port
    finally:
        for sock in held:
            sock.close()
        listener.close()


def black_hole_v6(port: int = 0) -> AbstractContextManager[int]:
    """``black_hole`` on ``::1``."""
    return black_hole("::1", port)


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def syntask_api(conn: socket.socket, stop: threading.Event) -> None:
    """A self-hosted API in miniature: ``/api/health`` answers ``true`` and ``/api/events/in``
    opens a WebSocket (101 with the right accept); anything else is 404. One request per
    connection, as each doctor request comes on a client of its own."""
    head = read_head(conn).decode("latin-1")
    request, *lines = head.split("\r\n\r\n", 1)[0].split("\r\n")
    path = request.split(" ")[1] if request.count(" ") >= 2 else ""
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    if path.endswith("/events/in"):
        key = headers.get("sec-websocket-key")
        if headers.get("upgrade", "").lower() != "websocket" or not key:
            conn.sendall(
                b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        conn.settimeout(5)
        while not stop.is_set() and conn.recv(4096):
            pass
        return
    if path.endswith("/health"):
        body, status = b"true", b"200 OK"
    else:
        body, status = b'{"detail":"Not Found"}', b"404 Not Found"
    conn.sendall(
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
