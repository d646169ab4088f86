"""Where the API key may go: only to the configured API host, only over verified TLS."""

from __future__ import annotations

from syntask_doctor.api_url import host_of, is_loopback


def refuse_key(url: str, allowed_hosts: set[str], verified: bool) -> str | None:
    """Why the doctor will not send the key to ``url``; ``None`` when it may."""
    host = host_of(url)
    if host is None or host.lower() not in {h.lower() for h in allowed_hosts}:
        return f"{host} is not the configured API host"
    if url.lower().startswith("https://"):
        return (
            None
            if verified
            else "TLS verification is switched off, so the server is not proven to be the API"
        )
    if url.lower().startswith("http://") and is_loopback(host):
        return None
    return "the URL is not https:// and not on this machine, so the key would travel in clear text"
