"""Talk to one URL the way the Syntask client does, and time each network layer on the way.

The request itself goes through httpx with the client's settings; httpcore's trace
extension reports where the connection got to, so the layer that failed is httpx's own
failure, not a separate guess. Only name resolution runs first on its own, to time it and
to word its errors.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from syntask_doctor.explain import describe, dns_error
from syntask_doctor.routes import Route

BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Layer:
    """One step of reaching a server: ``dns``, ``tcp``, ``proxy-tls``, ``proxy``, ``tls``, ``http``."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class Answer:
    """An HTTP response, cut down to what the checks read."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    http_version: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Probe:
    """Everything learnt from one request."""

    url: str
    route: Route
    layers: tuple[Layer, ...]
    answer: Answer | None = None
    error: str | None = None
    """The failure in plain words."""
    exception: str | None = None
    """The exception's type, for the JSON report."""
    addresses: tuple[str, ...] = field(default=())

    @property
    def failed_layer(self) -> str | None:
        return next((layer.name for layer in self.layers if not layer.ok), None)


def resolve(host: str, port: int, timeout: float) -> tuple[str, ...]:
    """``getaddrinfo`` as the client's socket code calls it, but never longer than ``timeout``."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        infos = future.result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


class _Recorder:
    """Collects httpcore trace events into layers."""

    def __init__(self, proxied_tls: bool) -> None:
        self.proxied_tls = proxied_tls
        self.open: dict[str, float] = {}
        self.layers: list[Layer] = []

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        name, _, phase = event.rpartition(".")
        layer = self._layer(name, info)
        if layer is None:
            return
        now = time.monotonic()
        if phase == "started":
            self.open.setdefault(layer, now)
        elif layer in self.open and (
            phase == "failed" or (phase == "complete" and self._closes(name, layer))
        ):
            started = self.open.pop(layer)
            detail = describe(info["exception"]) if phase == "failed" else ""
            self.layers.append(Layer(layer, phase == "complete", now - started, detail))

    def _layer(self, name: str, info: Mapping[str, Any]) -> str | None:
        if name.endswith("connect_tcp"):
            return "tcp"
        if name == "connection.start_tls":
            return "proxy-tls" if self.proxied_tls else "tls"
        if name in ("proxy.start_tls", "socks.start_tls"):
            return "tls"
        if name.startswith(("http11.", "http2.")):
            request = info.get("request")
            method = getattr(request, "method", b"")
            return "proxy" if method == b"CONNECT" else "http"
        return None

    @staticmethod
    def _closes(name: str, layer: str) -> bool:
        """An HTTP layer spans sending the request to receiving the response headers."""
        if layer in ("http", "proxy"):
            return name.endswith("receive_response_headers")
        return True

    def finish_open(self, detail: str) -> None:
        now = time.monotonic()
        for layer, started in self.open.items():
            self.layers.append(Layer(layer, False, now - started, detail))
        self.open.clear()


def fetch(
    client_factory: Callable[[], httpx.Client],
    url: str,
    route: Route,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Probe:
    """GET ``url`` through a client made by ``client_factory``; never raises, never follows redirects."""
    target = httpx.URL(url)
    via = httpx.URL(route.proxy) if route.proxy else target
    layers: list[Layer] = []
    started = time.monotonic()
    try:
        addresses = resolve(via.host, via.port or (443 if via.scheme == "https" else 80), timeout)
    except concurrent.futures.TimeoutError:
        layers.append(
            Layer(
                "dns",
                False,
                time.monotonic() - started,
                f"DNS lookup of {via.host} timed out after {timeout:g} s",
            )
        )
        return Probe(url, route, tuple(layers), error=layers[-1].detail, exception="TimeoutError")
    except OSError as exc:
        layers.append(Layer("dns", False, time.monotonic() - started, dns_error(exc, via.host)))
        return Probe(
            url, route, tuple(layers), error=layers[-1].detail, exception=type(exc).__name__
        )
    layers.append(Layer("dns", True, time.monotonic() - started, ", ".join(addresses)))

    recorder = _Recorder(proxied_tls=via.scheme == "https" and route.proxy is not None)
    try:
        with client_factory() as client:
            request = client.build_request(
                "GET", url, headers=headers, extensions={"trace": recorder}
            )
            response = client.send(request, stream=True)
            try:
                body = _read_limited(response)
            finally:
                response.close()
    except Exception as exc:  # noqa: BLE001 - every failure is a finding here
        detail = describe(exc, timeout)
        recorder.finish_open(detail)
        trail = layers + recorder.layers
        if isinstance(exc, httpx.ProxyError) and trail and trail[-1].name == "proxy":
            trail[-1] = Layer("proxy", False, trail[-1].seconds, detail)
        elif all(layer.ok for layer in trail):
            trail.append(Layer(_missing_layer(trail, exc), False, 0.0, detail))
        return Probe(
            url,
            route,
            tuple(trail),
            error=detail,
            exception=type(exc).__name__,
            addresses=addresses,
        )
    answer = Answer(
        response.status_code,
        response.reason_phrase,
        {k.lower(): v for k, v in response.headers.items()},
        body,
        response.http_version,
    )
    return Probe(url, route, tuple(layers + recorder.layers), answer=answer, addresses=addresses)


def _missing_layer(trail: list[Layer], exc: BaseException) -> str:
    if isinstance(exc, httpx.ProxyError):
        return "proxy"
    names = [layer.name for layer in trail]
    if "tcp" not in names:
        return "client"
    return "http"


def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_LIMIT:
            break
    return b"".join(chunks)[:BODY_LIMIT]
