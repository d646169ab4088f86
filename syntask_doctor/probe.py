"""Talk to one URL the way the Syntask client does, and time each network layer on the way.

The request itself goes through httpx with the client's settings; httpcore's trace
extension reports where the connection got to, so the layer that failed is httpx's own
failure, not a separate guess. Only name resolution runs first on its own, to time it and
to word its errors.

Every step has httpx's per-step timeout; on top of that a watchdog shuts the connection's
socket once the probe's whole budget is spent, so a server that trickles bytes forever
cannot hold a check past its deadline.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from syntask_doctor.explain import cause, dns_error, proxy_refusal
from syntask_doctor.routes import Route
from syntask_doctor.secrets import mask_urls_in
from syntask_doctor.trace import LAYERS, Layer, Layered, Recorder

__all__ = [
    "BODY_LIMIT",
    "LAYERS",
    "Answer",
    "Layer",
    "Probe",
    "ResolveTimeoutError",
    "Resolver",
    "fetch",
    "resolve",
]

BODY_LIMIT = 64 * 1024
"""Bytes of a body the doctor reads; the rest is left unread (endless bodies end here)."""


@dataclass(frozen=True)
class Answer:
    """An HTTP response, cut down to what the checks read."""

    status: int
    reason: str
    headers: Mapping[str, str]
    """Lower-case names; a repeated header keeps its values joined by commas."""
    body: bytes
    """At most ``BODY_LIMIT`` bytes."""
    http_version: str

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Probe(Layered):
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
    cause: str | None = None
    """A short tag for the failure (see ``explain.cause``), ``None`` when it worked."""


def limits(step_timeout: float, remaining: float) -> tuple[float, float]:
    """The per-step timeout and the whole probe's budget (three steps), inside what is left."""
    return step_timeout, max(0.1, min(3 * step_timeout, remaining))


Resolver = Callable[[str, int, float], tuple[str, ...]]
"""The system resolver's seam: (host, port, timeout) to addresses in the order tried."""


class ResolveTimeoutError(Exception):
    """``getaddrinfo`` did not return in time."""


def resolve(host: str, port: int, timeout: float) -> tuple[str, ...]:
    """``getaddrinfo`` as the client's socket code calls it, but never longer than ``timeout``.

    The lookup runs in a daemon thread: a resolver that never answers cannot be
    interrupted, and must not keep the process alive either.
    """
    results: queue.Queue[list[Any] | OSError] = queue.Queue(maxsize=1)

    def lookup() -> None:
        try:
            results.put(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except OSError as exc:
            results.put(exc)

    threading.Thread(target=lookup, daemon=True, name=f"resolve {host}").start()
    try:
        found = results.get(timeout=timeout)
    except queue.Empty:
        raise ResolveTimeoutError(host) from None
    if isinstance(found, OSError):
        raise found
    return tuple(dict.fromkeys(str(info[4][0]) for info in found))


def fetch(
    client_factory: Callable[[], httpx.Client],
    url: str,
    route: Route,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    *,
    budget: float | None = None,
    resolver: Resolver = resolve,
) -> Probe:
    """GET ``url`` through a client made by ``client_factory``, never following redirects.

    ``timeout`` bounds each step; ``budget`` (default three steps) bounds the whole probe.
    ``resolver`` times the DNS layer (httpx then resolves again itself, as the client does).
    A ``101 Switching Protocols`` answer is returned without reading a body.
    Network failures come back in the ``Probe``; only the factory's own exception (such as
    ``ClientSetupError``) propagates, because then no request was ever made.
    """
    budget = 3 * timeout if budget is None else budget
    with client_factory() as client:
        try:
            target = httpx.URL(url)
            via = httpx.URL(route.proxy) if route.proxy else target
        except (httpx.InvalidURL, ValueError) as exc:
            detail = f"the URL cannot be used: {mask_urls_in(str(exc))}"
            return _failed(url, route, Layer("client", False, 0.0, detail), exc)
        started = time.monotonic()
        port = via.port or (443 if via.scheme == "https" else 80)
        try:
            addresses = resolver(via.host, port, min(timeout, budget))
        except ResolveTimeoutError as exc:
            detail = f"DNS lookup of {via.host} got no answer within {min(timeout, budget):.4g} s"
            return _failed(url, route, Layer("dns", False, time.monotonic() - started, detail), exc)
        except OSError as exc:
            detail = dns_error(exc, via.host)
            return _failed(url, route, Layer("dns", False, time.monotonic() - started, detail), exc)
        dns = Layer("dns", True, time.monotonic() - started, ", ".join(addresses))
        recorder = Recorder(proxied_tls=via.scheme == "https" and route.proxy is not None)
        try:
            answer = _exchange(client, url, headers, recorder, budget - dns.seconds)
        except Exception as exc:  # noqa: BLE001 - every failure of the request is a finding
            layers = [dns, *recorder.trail(exc, timeout, budget)]
            return Probe(
                url,
                route,
                tuple(layers),
                error=layers[-1].detail,
                exception=type(exc).__name__,
                addresses=addresses,
                cause="timeout" if recorder.aborted else cause(exc),
            )
    layers = [dns, *recorder.layers]
    refusal = _forward_refusal(route, target, answer)
    if refusal is not None:
        layers[-1] = Layer("proxy", False, layers[-1].seconds, refusal)
        return Probe(
            url, route, tuple(layers), answer, refusal, None, addresses, f"proxy-{answer.status}"
        )
    return Probe(url, route, tuple(layers), answer=answer, addresses=addresses)


def _exchange(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str] | None,
    recorder: Recorder,
    budget: float,
) -> Answer:
    """Send the request and read the answer, with the watchdog armed for ``budget``."""
    watchdog = threading.Timer(max(0.0, budget), recorder.abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        request = client.build_request("GET", url, headers=headers, extensions={"trace": recorder})
        response = client.send(request, stream=True)
        try:
            body = b"" if response.status_code == 101 else _read_limited(response, recorder)
        finally:
            response.close()
    finally:
        watchdog.cancel()
        recorder.release()
    return Answer(
        response.status_code,
        response.reason_phrase,
        {k: ", ".join(response.headers.get_list(k)) for k in response.headers},
        body,
        response.http_version,
    )


def _failed(url: str, route: Route, layer: Layer, exc: BaseException) -> Probe:
    if isinstance(exc, ResolveTimeoutError):
        name, tag = "TimeoutError", "timeout"
    else:
        name, tag = type(exc).__name__, "dns" if layer.name == "dns" else "url"
    return Probe(url, route, (layer,), error=layer.detail, exception=name, cause=tag)


def _forward_refusal(route: Route, target: httpx.URL, answer: Answer) -> str | None:
    """A plain-HTTP request sent through a proxy gets the proxy's refusals as answers.

    With CONNECT httpx raises ``ProxyError``; a forwarded ``http://`` request (the OCSP
    responder) just receives the proxy's 407 or 502, which is the proxy failing, not the host.
    """
    if route.proxy is None or target.scheme != "http":
        return None
    if answer.status in (407, 502, 503, 504):
        return proxy_refusal(f"{answer.status} {answer.reason}")
    return None


def _read_limited(response: httpx.Response, recorder: Recorder) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_LIMIT or recorder.aborted:
            break
    return b"".join(chunks)[:BODY_LIMIT]
