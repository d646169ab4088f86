"""Web servers of the simulated internet, each host on its own address, and their content."""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import json
import socket
import socketserver
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .namespaces import Namespace

IDLE = 10.0
"""Seconds a connection may stay silent before the server drops it."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


App = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: WebServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks its address up in DNS (getfqdn): never here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gives up mid-handshake is part of the scenarios, not an error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(IDLE)
        # As real servers do: without it, Nagle holds the answer behind TLS session tickets.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self.server.owner.tls
        if tls is not None:
            self.request = tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def do_GET(self) -> None:
        self._respond(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self._respond(self.rfile.read(min(length, 1 << 20)))

    def _respond(self, body: bytes) -> None:
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, self.path, headers, body)
        owner.requests.append(request)
        response = owner.app(request)
        self.send_response(response.status)
        if response.status < 200:  # an upgrade: headers only, then the connection is handed over
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.close_connection = True
            return
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        skewed = (timestamp or time.time()) + self.server.owner.clock_offset
        return email.utils.formatdate(skewed, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are kept in ``requests``; nothing goes to stderr."""


class WebServer:
    """One host: HTTPS when ``tls`` is given, plain HTTP otherwise.

    ``tls`` and ``clock_offset`` (seconds added to the ``Date`` header) can be changed
    while the server runs; each new connection uses the current values.
    """

    def __init__(
        self, ns: Namespace, address: str, port: int, app: App, tls: ssl.SSLContext | None
    ) -> None:
        self.app = app
        self.tls = tls
        self.clock_offset = 0.0
        self.requests: list[Request] = []
        self._server = ns.call(lambda: _Server((address, port), self))
        ns.thread(lambda: self._server.serve_forever(poll_interval=0.05), f"web {address}")

    def stop(self) -> None:
        self._server.shutdown()
        with contextlib.suppress(OSError):
            self._server.server_close()


def site(title: str) -> App:
    """A public web site: an HTML page on every path."""
    page = f"<!doctype html><html><head><title>{title}</title></head><body></body></html>"

    def app(_request: Request) -> Response:
        return Response(200, page.encode())

    return app


def with_ocsp(page: App, respond: Callable[[Request], Response | None]) -> App:
    """An OCSP responder's host: OCSP answers to OCSP requests, ``page`` to the rest."""

    def app(request: Request) -> Response:
        return respond(request) or page(request)

    return app


def _json(status: int, value: object) -> Response:
    return Response(status, json.dumps(value).encode(), "application/json")


def websocket_accept(request: Request) -> Response:
    """The opening handshake of RFC 6455 accepted: ``101`` with the key's answer."""
    key = request.headers.get("sec-websocket-key", "")
    digest = hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Accept": base64.b64encode(digest).decode(),
    }
    return Response(101, headers=headers)


def cloud_api(key: str, workspaces: list[dict[str, str]]) -> App:
    """Syntask Cloud's API: the key check, and each listed workspace's health endpoint and
    events WebSocket."""
    roots = {f"/api/accounts/{w['account_id']}/workspaces/{w['workspace_id']}" for w in workspaces}
    health = {f"{root}/health" for root in roots}
    events = {f"{root}/events/in" for root in roots}

    def app(request: Request) -> Response:
        if request.path in events and request.headers.get("upgrade", "").lower() == "websocket":
            return websocket_accept(request)
        if request.path not in health and request.path != "/api/me/workspaces":
            return _json(404, {"detail": "Not Found"})
        if request.headers.get("authorization") != f"Bearer {key}":
            return _json(401, {"detail": "Invalid authentication credentials"})
        if request.path == "/api/me/workspaces":
            return _json(200, workspaces)
        return _json(200, True)

    return app


def workspace_item(account: str, workspace: str) -> dict[str, str]:
    return {
        "account_id": account,
        "account_name": "Acme",
        "account_handle": "acme",
        "workspace_id": workspace,
        "workspace_name": "prod",
        "workspace_handle": "prod",
        "workspace_description": "",
    }
