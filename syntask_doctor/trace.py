"""Follow one httpx request through httpcore's trace events and turn them into timed layers.

httpcore reports each step it starts and ends (``connection.connect_tcp``,
``connection.start_tls``, ``http11.send_request_headers`` ...). The recorder maps them to
the doctor's layers, keeps the connection's sockets so a watchdog can end a request that
overruns its budget, and, after a failure, names the layer that broke and why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from syntask_doctor.explain import describe

LAYERS = ("dns", "tcp", "proxy-tls", "proxy", "tls", "http")
"""Layers in the order a connection goes through them; ``client`` when none was reached."""


@dataclass(frozen=True)
class Layer:
    """One step of reaching a server, one of ``LAYERS``, with its time and result."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""
    """The addresses found (``dns``) or, for a failed layer, what went wrong."""


class Layered:
    """What any walk through the layers reports: the first that failed, and the time taken."""

    layers: tuple[Layer, ...]

    @property
    def failed_layer(self) -> str | None:
        return next((layer.name for layer in self.layers if not layer.ok), None)

    @property
    def seconds(self) -> float:
        return sum(layer.seconds for layer in self.layers)


class Recorder:
    """Collects httpcore trace events into layers, and holds the sockets for the watchdog."""

    def __init__(self, proxied_tls: bool) -> None:
        self.proxied_tls = proxied_tls
        self.open: dict[str, float] = {}
        self.layers: list[Layer] = []
        self.aborted = False
        self.exchange = "http"
        """The HTTP exchange under way: ``proxy`` (CONNECT) or ``http``."""
        self.body_started = 0.0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        name, _, phase = event.rpartition(".")
        layer = self._layer(name, info)
        if layer is None:
            return
        now = time.monotonic()
        if name.endswith("receive_response_body"):
            self._body_event(layer, phase, now)
        elif phase == "started":
            self.open.setdefault(layer, now)
        elif layer in self.open and (phase == "failed" or self._closes(name, layer)):
            started = self.open.pop(layer)
            self.layers.append(Layer(layer, phase == "complete", now - started))
        if name.endswith("connect_tcp") and phase == "complete":
            self._keep(info.get("return_value"))

    def _body_event(self, layer: str, phase: str, now: float) -> None:
        """A body that breaks off fails the HTTP layer its headers already completed."""
        if phase == "started":
            self.body_started = now
        elif phase == "failed" and self.layers and self.layers[-1].name == layer:
            last = self.layers[-1]
            self.layers[-1] = replace(
                last, ok=False, seconds=last.seconds + now - self.body_started
            )

    def _layer(self, name: str, info: Mapping[str, Any]) -> str | None:
        if name.endswith("connect_tcp"):
            return "tcp"
        if name == "connection.start_tls":
            return "proxy-tls" if self.proxied_tls else "tls"
        if name in ("proxy.start_tls", "socks.start_tls"):
            return "tls"
        if name.startswith(("http11.", "http2.")) and not name.endswith("response_closed"):
            # Only "started" events carry the request; the rest belong to the same exchange.
            if "request" in info:
                method = getattr(info["request"], "method", b"")
                self.exchange = "proxy" if method == b"CONNECT" else "http"
            return self.exchange
        return None

    @staticmethod
    def _closes(name: str, layer: str) -> bool:
        """An HTTP layer spans sending the request to receiving the response headers."""
        if layer in ("http", "proxy"):
            return name.endswith("receive_response_headers")
        return True

    def _keep(self, stream: Any) -> None:
        # A duplicate of the descriptor: shutting it down ends the shared connection, and
        # it stays valid when ssl wraps (and detaches) the original socket object.
        sock = getattr(stream, "get_extra_info", lambda _name: None)("socket")
        if isinstance(sock, socket.socket):
            with self._lock:
                if not self.aborted:
                    self._sockets.append(sock.dup())

    def abort(self) -> None:
        """The budget is spent: unblock whatever read or write the probe is waiting in."""
        with self._lock:
            self.aborted = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def trail(self, exc: BaseException, timeout: float, budget: float) -> list[Layer]:
        """The layers after a failure, the failed one last and its error in words."""
        now = time.monotonic()
        layers = list(self.layers)
        for layer, started in self.open.items():
            layers.append(Layer(layer, False, now - started))
        self.open.clear()
        if isinstance(exc, httpx.ProxyError) and layers and layers[-1].name == "proxy":
            layers[-1] = replace(layers[-1], ok=False)
        failed = next((i for i, layer in enumerate(layers) if not layer.ok), None)
        if failed is None and layers and layers[-1].name == "http":
            # The headers came, then the body broke off: still the HTTP layer failing.
            failed = len(layers) - 1
            layers[failed] = replace(layers[failed], ok=False)
        elif failed is None:
            layers.append(Layer(_missing_layer(layers), False, 0.0))
            failed = len(layers) - 1
        name = layers[failed].name
        detail = describe(exc, timeout, name)
        if self.aborted:
            # httpcore then reports the socket we closed as "Server disconnected": not so.
            detail = (
                f"no complete answer within the probe's limit of {budget:.4g} s: the other side"
                " kept the connection open without finishing"
            )
        layers[failed] = replace(layers[failed], detail=detail)
        return layers[: failed + 1]


def _missing_layer(layers: list[Layer]) -> str:
    """The layer of a failure no trace event covers: before TCP (``client``), or after it."""
    names = [layer.name for layer in layers]
    return "http" if "tcp" in names else "client"
