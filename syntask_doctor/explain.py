"""Turn errors from httpx, ssl and the resolver into plain words a user can act on."""

from __future__ import annotations

import socket
import ssl

import httpx

from syntask_doctor.secrets import mask_urls_in

_VERIFY_CODES = {
    10: "the certificate has expired (or the local clock is wrong)",
    9: "the certificate is not yet valid (or the local clock is wrong)",
    18: "the server sent a self-signed certificate",
    19: "the chain ends in a root that is not trusted: typical of TLS inspection by a proxy",
    20: "the certificate's issuer is not among the trusted roots (missing intermediate, or TLS inspection)",
    21: "the certificate's issuer is not among the trusted roots",
    62: "the certificate is not valid for this host name",
}

_GAI = {
    socket.EAI_NONAME: "the name does not exist in DNS (or no DNS server knows it)",
    socket.EAI_AGAIN: "no DNS server answered (temporary failure in name resolution)",
    getattr(socket, "EAI_NODATA", -5): "the name exists but has no address",
    socket.EAI_FAIL: "the DNS server failed to answer",
}


def dns_error(exc: BaseException, host: str | None = None) -> str:
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
    for link in chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            plain = _VERIFY_CODES.get(link.verify_code, "the certificate could not be verified")
            return f"certificate verification failed: {plain} [{link.verify_message}]"
        if isinstance(link, ssl.SSLError):
            reason = link.reason or str(link)
            if reason == "WRONG_VERSION_NUMBER":
                return "the other side does not speak TLS on this port (it may be plain HTTP) [WRONG_VERSION_NUMBER]"
            return f"the TLS handshake failed [{reason}]"
    return None


def describe(exc: BaseException, timeout: float | None = None) -> str:
    """One plain sentence for an error met while talking to a server."""
    tls = tls_error(exc)
    if tls:
        return tls
    for link in chain(exc):
        if isinstance(link, socket.gaierror):
            return dns_error(link)
    waited = f" within {timeout:g} s" if timeout else ""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no answer to the connection attempt{waited}: packets are dropped on the way (firewall?)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"connected, but the server sent nothing back{waited}"
    if isinstance(exc, httpx.WriteTimeout | httpx.PoolTimeout):
        return f"the request could not be sent{waited}"
    if isinstance(exc, httpx.ProxyError):
        return f"the proxy refused to open a tunnel: {mask_urls_in(str(exc))}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP exchange: {exc}"
    if isinstance(exc, httpx.LocalProtocolError):
        return f"the request could not be built: {exc}"
    for link in chain(exc):
        if isinstance(link, ConnectionRefusedError):
            return "connection refused: nothing listens at that address and port"
        if isinstance(link, ConnectionResetError):
            return "the connection was reset by the other side or a device in between"
        if isinstance(link, OSError) and link.strerror:
            return f"the connection failed: {link.strerror}"
    text = str(exc) or type(exc).__name__
    return mask_urls_in(text)
