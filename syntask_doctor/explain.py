"""Turn errors from httpx, ssl and the resolver into plain words a user can act on.

The same exception means different things at different layers: a timeout while opening
TCP means packets are dropped, a timeout in the TLS handshake means something answered TCP
but does not speak TLS. So ``describe`` takes the layer that failed when it is known.
"""

from __future__ import annotations

import socket
import ssl

import httpx

from syntask_doctor.secrets import mask_urls_in

_VERIFY_CODES = {
    9: "the certificate is not yet valid (or the local clock is wrong)",
    10: "the certificate has expired (or the local clock is wrong)",
    18: "the server sent a self-signed certificate",
    19: "the chain ends in a root that is not trusted: typical of TLS inspection by a proxy",
    20: (
        "the certificate's issuer is not among the trusted roots"
        " (a missing intermediate, or TLS inspection)"
    ),
    21: "the certificate's issuer is not among the trusted roots",
    62: "the certificate is not valid for this host name",
    64: "the certificate is not valid for this IP address",
}

_GAI = {
    socket.EAI_NONAME: "the name does not exist in DNS (or no DNS server knows it)",
    socket.EAI_AGAIN: "no DNS server answered (temporary failure in name resolution)",
    getattr(socket, "EAI_NODATA", -5): "the name exists but has no address",
    socket.EAI_FAIL: "the DNS server failed to answer",
}

# OpenSSL's words when the other side answers a ClientHello with something that is not TLS
# (typically an HTTP error page from a plain-HTTP server or proxy).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")

PROXY_NOT_TLS = "the proxy does not speak TLS: it is a plain-HTTP proxy written as https://"


def dns_error(exc: BaseException, host: str | None = None) -> str:
    """A failed ``getaddrinfo`` in words, with the resolver's own message kept."""
    name = f" of {host}" if host else ""
    if isinstance(exc, socket.gaierror) and exc.errno in _GAI:
        return f"DNS lookup{name} failed: {_GAI[exc.errno]} [{exc.strerror}]"
    return f"DNS lookup{name} failed: {exc}"


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def tls_error(exc: BaseException) -> str | None:
    """The TLS failure inside ``exc``, if there is one."""
    for link in chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            plain = _VERIFY_CODES.get(link.verify_code, "the certificate could not be verified")
            return f"certificate verification failed: {plain} [{link.verify_message}]"
        if isinstance(link, ssl.SSLError):
            reason = link.reason or str(link)
            if reason in _NOT_TLS:
                return (
                    "the other side does not speak TLS on this port"
                    f" (it answered like a plain-HTTP server) [{reason}]"
                )
            return f"the TLS handshake failed [{reason}]"
    return None


def tls_reason(exc: BaseException) -> str | None:
    """OpenSSL's short reason (``WRONG_VERSION_NUMBER`` ...) inside ``exc``, if any."""
    for link in chain(exc):
        if isinstance(link, ssl.SSLError) and link.reason:
            return str(link.reason)
    return None


def is_not_tls(exc: BaseException) -> bool:
    """Whether the handshake failed because the other side spoke something other than TLS."""
    return tls_reason(exc) in _NOT_TLS


def proxy_refusal(status_line: str) -> str:
    """What a CONNECT refusal (``407 Proxy Authentication Required`` ...) means."""
    code = status_line.split(" ", 1)[0]
    meaning = {
        "407": "the proxy demands credentials",
        "403": "the proxy's policy forbids a tunnel to this host",
        "502": "the proxy could not connect to the host (blocked or down beyond the proxy)",
        "503": "the proxy could not connect to the host (blocked or down beyond the proxy)",
        "504": "the proxy got no answer from the host in time",
    }.get(code, "the proxy refused to open a tunnel")
    return f"{meaning} [{mask_urls_in(status_line)}]"


def cause(exc: BaseException) -> str:
    """A short, stable tag for what went wrong, for remedies and the JSON report.

    One of ``dns``, ``timeout``, ``refused``, ``reset``, ``not-tls``, ``hostname``,
    ``clock``, ``untrusted``, ``tls``, ``proxy-407``, ``proxy-403``, ``proxy-<status>``,
    ``protocol``, ``request`` or ``other``.
    """
    for link in chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            if link.verify_code in (62, 64):
                return "hostname"
            return "clock" if link.verify_code in (9, 10) else "untrusted"
    if is_not_tls(exc):
        return "not-tls"
    if any(isinstance(link, ssl.SSLError) for link in chain(exc)):
        return "tls"
    if any(isinstance(link, socket.gaierror) for link in chain(exc)):
        return "dns"
    if isinstance(exc, httpx.ProxyError):
        return f"proxy-{str(exc).split(' ', 1)[0]}"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol"
    if isinstance(exc, httpx.LocalProtocolError):
        return "request"
    for link in chain(exc):
        if isinstance(link, ConnectionRefusedError):
            return "refused"
        if isinstance(link, ConnectionResetError):
            return "reset"
    return "other"


def describe(exc: BaseException, timeout: float | None = None, layer: str | None = None) -> str:
    """One plain sentence for an error met while talking to a server.

    ``layer`` is the layer that failed (``tcp``, ``proxy-tls``, ``proxy``, ``tls``,
    ``http``), when the caller knows it; without it the words are more general.
    """
    waited = f" within {timeout:.4g} s" if timeout else ""
    if layer == "proxy-tls" and is_not_tls(exc):
        return f"{PROXY_NOT_TLS} [{tls_reason(exc)}]"
    if layer == "proxy-tls" and isinstance(exc, httpx.ConnectTimeout):
        return (
            f"the proxy did not answer the TLS handshake{waited}: it most likely does not"
            " speak TLS (a plain-HTTP proxy written as https:// waits for a request head)"
        )
    tls = tls_error(exc)
    if tls:
        return f"the proxy's {tls}" if layer == "proxy-tls" else tls
    for link in chain(exc):
        if isinstance(link, socket.gaierror):
            return dns_error(link)
    if isinstance(exc, httpx.ProxyError):
        return proxy_refusal(str(exc))
    if isinstance(exc, httpx.ConnectTimeout):
        if layer in ("tls", "proxy-tls"):
            return (
                f"TCP connected, but the TLS handshake got no answer{waited}: what listens"
                " there does not speak TLS, or a device in between holds the connection"
            )
        return (
            f"no answer to the TCP connection attempt{waited}: packets are dropped on the way"
            " (a firewall that drops rather than rejects, or a dead address)"
        )
    if isinstance(exc, httpx.ReadTimeout):
        if layer == "proxy":
            return f"the proxy accepted the connection but did not answer CONNECT{waited}"
        return f"connected, but the server sent no HTTP answer{waited}"
    if isinstance(exc, httpx.WriteTimeout | httpx.PoolTimeout):
        return f"the request could not be sent{waited}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP exchange: {_short(str(exc))}"
    if isinstance(exc, httpx.LocalProtocolError):
        # Its message can quote a header value, and header values hold the key: never show it.
        return "the request could not be built: a header holds characters HTTP does not allow"
    for link in chain(exc):
        if isinstance(link, ConnectionRefusedError):
            return (
                "connection refused: nothing listens at that address and port,"
                " or a firewall rejects the connection"
            )
        if isinstance(link, ConnectionResetError):
            return "the connection was reset by the other side or by a device in between"
        if isinstance(link, OSError) and link.strerror:
            return f"the connection failed: {link.strerror}"
    return _short(mask_urls_in(str(exc) or type(exc).__name__))


def _short(text: str, limit: int = 200) -> str:
    """Servers that lie can put anything in an error: keep it to one readable line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
