"""Where the API key may go: only to the configured API host, only over verified TLS.

Plain ``http://`` is accepted only when the whole way stays on this machine: a loopback
server reached directly or through a loopback proxy. A proxy elsewhere would read the key.
"""

from __future__ import annotations

from syntask_doctor.api_url import host_of, is_loopback


def refuse_key(
    url: str, allowed_hosts: set[str], verified: bool, proxy: str | None = None
) -> str | None:
    """Why the doctor will not send the key to ``url``; ``None`` when it may.

    ``verified`` says whether the client checks the server's certificate; ``proxy`` is the
    proxy the request goes through, if any.
    """
    host = host_of(url)
    if host is None or host.lower() not in {h.lower() for h in allowed_hosts}:
        return f"{host or url!r} is not the configured API host"
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "https":
        if verified:
            return None
        return "TLS verification is switched off, so the server is not proven to be the API"
    if scheme == "http" and is_loopback(host):
        if proxy is None or is_loopback(host_of(proxy)):
            return None
        return "the plain-http request would go through a proxy on another machine, in clear text"
    return "the URL is not https:// and not on this machine, so the key would travel in clear text"
