"""Ask a proxy for a tunnel by hand, as httpx does, and keep what httpx throws away.

httpx reports a refused CONNECT as a status line only. Written out here, the exchange
keeps the ``Proxy-Authenticate`` challenges (which schemes the proxy offers) and whether
credentials were sent, so a 407 can be answered with the fix that fits. The steps and their
layers are the probe's: ``dns`` and ``tcp`` to the proxy, ``proxy-tls`` for an ``https://``
proxy, then ``proxy`` for the CONNECT (or, for ``http://`` targets, the forwarded request).
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import ssl
import time
from dataclasses import dataclass

import certifi
import httpx

from syntask_doctor.explain import cause, describe, dns_error, proxy_refusal
from syntask_doctor.probe import Layer, Resolver, ResolveTimeoutError, resolve
from syntask_doctor.secrets import mask_url, mask_urls_in
from syntask_doctor.trace import Layered

HEAD_LIMIT = 64 * 1024
"""Bytes of a proxy's answer head the doctor reads at most."""

_TOKEN = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+|$)")


@dataclass(frozen=True)
class Tunnel(Layered):
    """What a proxy did with one CONNECT (or forwarded) request."""

    proxy: str
    """The proxy URL with its password hidden."""
    target: str
    """``host:port`` for CONNECT, the URL for a forwarded request."""
    layers: tuple[Layer, ...]
    status: int | None = None
    reason: str = ""
    schemes: tuple[str, ...] = ()
    """Authentication schemes offered in ``Proxy-Authenticate``, in the proxy's order."""
    credentials_sent: bool = False
    user: str | None = None
    """The user name httpx sends (percent-decoded), if the URL holds one."""
    cause: str | None = None
    """``None`` when the tunnel opened; else a tag as ``explain.cause`` gives, or ``url``."""
    error: str | None = None


def proxy_ssl_context() -> ssl.SSLContext:
    """The context httpcore uses for an ``https://`` proxy: OpenSSL's default paths plus
    certifi (``httpcore.default_ssl_context``), whatever the client's own ``verify``."""
    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context


def challenges(values: list[str]) -> tuple[str, ...]:
    """The scheme names in ``Proxy-Authenticate`` values (several may share one header)."""
    schemes: list[str] = []
    for value in values:
        for piece in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", value):
            match = _TOKEN.match(piece.strip())
            if match and "=" not in piece.strip().split(" ", 1)[0]:
                schemes.append(match.group(1))
    return tuple(dict.fromkeys(schemes))


def open_tunnel(
    proxy_url: str,
    target: str,
    timeout: float,
    budget: float | None = None,
    resolver: Resolver = resolve,
) -> Tunnel:
    """CONNECT to ``target`` (an ``https://`` URL) through the proxy, or forward a GET for an
    ``http://`` target, within ``timeout`` per step and ``budget`` for the whole exchange."""
    shown = mask_url(proxy_url)
    deadline = time.monotonic() + (3 * timeout if budget is None else budget)
    try:
        proxy = httpx.Proxy(proxy_url)
        url = httpx.URL(target)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        error = f"httpx cannot use this proxy URL: {mask_urls_in(str(exc))}"
        layer = Layer("client", False, 0.0, error)
        return Tunnel(shown, target, (layer,), cause="url", error=error)
    user = proxy.raw_auth[0].decode("latin-1") if proxy.raw_auth else None
    exchange = _Exchange(proxy, url, timeout, deadline)
    exchange.run(resolver)
    failed = exchange.failure is not None
    return Tunnel(
        shown,
        exchange.target,
        tuple(exchange.layers),
        exchange.status,
        exchange.reason,
        exchange.schemes,
        proxy.raw_auth is not None,
        user,
        exchange.failure,
        exchange.layers[-1].detail if failed else None,
    )


class _Exchange:
    """The steps of one tunnel request; each adds its layer, and the first failure ends it."""

    def __init__(self, proxy: httpx.Proxy, url: httpx.URL, timeout: float, deadline: float):
        self.proxy = proxy
        self.url = url
        self.timeout = timeout
        self.deadline = deadline
        self.connect = url.scheme == "https"
        port = url.port or (443 if self.connect else 80)
        self.target = f"{url.host}:{port}" if self.connect else str(url)
        self.layers: list[Layer] = []
        self.status: int | None = None
        self.reason = ""
        self.schemes: tuple[str, ...] = ()
        self.failure: str | None = None
        """The cause tag of the failed step, ``None`` while every step worked."""

    def step_timeout(self) -> float:
        return max(0.05, min(self.timeout, self.deadline - time.monotonic()))

    def run(self, resolver: Resolver) -> None:
        host = self.proxy.url.host
        port = self.proxy.url.port or (443 if self.proxy.url.scheme == "https" else 80)
        addresses = self._dns(resolver, host, port)
        sock = self._tcp(addresses, port) if addresses else None
        if sock is None:
            return
        with contextlib.closing(sock):
            if self.proxy.url.scheme == "https":
                wrapped = self._tls(sock, host)
                if wrapped is None:
                    return
                sock = wrapped
            self._request(sock)

    def _passed(self, layer: str, started: float, detail: str) -> None:
        self.layers.append(Layer(layer, True, time.monotonic() - started, detail))

    def _failed(self, layer: str, started: float, detail: str, tag: str) -> None:
        self.layers.append(Layer(layer, False, time.monotonic() - started, detail))
        self.failure = tag

    def _dns(self, resolver: Resolver, host: str, port: int) -> tuple[str, ...]:
        started = time.monotonic()
        limit = self.step_timeout()
        try:
            addresses = resolver(host, port, limit)
        except ResolveTimeoutError:
            self._failed(
                "dns",
                started,
                f"DNS lookup of {host} got no answer within {limit:.4g} s",
                "timeout",
            )
            return ()
        except OSError as exc:
            self._failed("dns", started, dns_error(exc, host), "dns")
            return ()
        self._passed("dns", started, ", ".join(addresses))
        return addresses

    def _tcp(self, addresses: tuple[str, ...], port: int) -> socket.socket | None:
        """Each address in turn, as ``socket.create_connection`` (and so httpcore) tries them."""
        started = time.monotonic()
        error: Exception = OSError("no address")
        for address in addresses:
            try:
                sock = socket.create_connection((address, port), timeout=self.step_timeout())
            except OSError as exc:
                error = exc
                continue
            self._passed("tcp", started, address)
            return sock
        as_httpx = _as_httpx(error, httpx.ConnectTimeout)
        self._failed("tcp", started, describe(as_httpx, self.timeout, "tcp"), cause(as_httpx))
        return None

    def _tls(self, sock: socket.socket, host: str) -> ssl.SSLSocket | None:
        started = time.monotonic()
        sock.settimeout(self.step_timeout())
        try:
            wrapped = proxy_ssl_context().wrap_socket(sock, server_hostname=host)
        except OSError as exc:
            as_httpx = _as_httpx(exc, httpx.ConnectTimeout)
            detail = describe(as_httpx, self.timeout, "proxy-tls")
            self._failed("proxy-tls", started, detail, cause(as_httpx))
            return None
        self._passed("proxy-tls", started, wrapped.version() or "")
        return wrapped

    def _request(self, sock: socket.socket) -> None:
        started = time.monotonic()
        try:
            sock.sendall(self._head())
            head = self._read_head(sock)
        except OSError as exc:
            as_httpx = _as_httpx(exc, httpx.ReadTimeout)
            self._failed(
                "proxy", started, describe(as_httpx, self.timeout, "proxy"), cause(as_httpx)
            )
            return
        parsed = _parse(head)
        if parsed is None:
            detail = "the proxy's answer is not HTTP: this port may not be an HTTP proxy"
            self._failed("proxy", started, detail, "protocol")
            return
        self.status, self.reason, headers = parsed
        self.schemes = challenges(headers.get("proxy-authenticate", []))
        line = f"{self.status} {self.reason}".strip()
        refused = self.status in (407, 502, 503, 504) or (
            self.connect and not 200 <= self.status < 300
        )
        if refused:
            self._failed("proxy", started, proxy_refusal(line), f"proxy-{self.status}")
        else:
            self._passed("proxy", started, line)

    def _head(self) -> bytes:
        if self.connect:
            lines = [f"CONNECT {self.target} HTTP/1.1", f"Host: {self.target}"]
        else:
            lines = [f"GET {self.target} HTTP/1.1", f"Host: {self.url.netloc.decode()}"]
        if self.proxy.raw_auth:
            user, password = self.proxy.raw_auth
            token = base64.b64encode(user + b":" + password).decode()
            lines.append(f"Proxy-Authorization: Basic {token}")
        lines += ["Accept: */*", "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _read_head(self, sock: socket.socket) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
            if time.monotonic() >= self.deadline:
                raise TimeoutError("the exchange's budget is spent")
            sock.settimeout(self.step_timeout())
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
        return head


def _as_httpx(exc: Exception, timeout: type[httpx.TimeoutException]) -> Exception:
    """A socket error as httpx would raise it, so ``explain`` words it the same way."""
    wrapped: Exception
    if isinstance(exc, TimeoutError):
        wrapped = timeout(str(exc) or "timed out")
    elif isinstance(exc, ssl.SSLError):
        wrapped = httpx.ConnectError(str(exc))
    else:
        return exc
    wrapped.__cause__ = exc
    return wrapped


def _parse(head: bytes) -> tuple[int, str, dict[str, list[str]]] | None:
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    match = re.fullmatch(r"HTTP/1\.[01] (\d{3})(?: (.*))?", lines[0])
    if match is None:
        return None
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(match.group(1)), (match.group(2) or "").strip(), headers
