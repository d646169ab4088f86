"""The WebSocket opening handshake (RFC 6455), sent through httpx like any other request.

The events client opens ``wss://{api}/events/in`` with the workspace client's trust, through
the proxy of ``HTTPS_PROXY``. Sent through httpx's own transport, the handshake follows the
same route, tunnel and TLS as every REST call, and httpcore hands back a ``101`` answer
without reading further; nothing is sent after it, and no key goes with it.
"""

from __future__ import annotations

import base64
import hashlib
import os

from syntask_doctor.probe import Answer

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""The constant of RFC 6455 that the server hashes with the client's key."""


def ws_url(api_url: str) -> str:
    """``{api}/events/in`` as the events client writes it: ``wss://`` (``ws://`` for http)."""
    base = api_url.strip().rstrip("/") + "/events/in"
    scheme, _, rest = base.partition("://")
    return f"{'wss' if scheme.lower() == 'https' else 'ws'}://{rest}"


def http_url(url: str) -> str:
    """The same URL with the scheme httpx speaks (``https://`` for ``wss://``)."""
    scheme, _, rest = url.partition("://")
    return f"{'https' if scheme.lower() == 'wss' else 'http'}://{rest}"


def handshake() -> tuple[dict[str, str], str]:
    """The opening handshake's headers and the ``Sec-WebSocket-Accept`` the server must send."""
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": key,
    }
    return headers, accept_for(key)


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def problem(answer: Answer, accept: str) -> str | None:
    """Why this answer does not open a WebSocket; ``None`` when it does."""
    if answer.status != 101:
        upgrade = answer.headers.get("upgrade")
        said = f", Upgrade: {upgrade}" if upgrade else ", no Upgrade header"
        return f"HTTP {answer.status} {answer.reason}{said} where a WebSocket server answers 101"
    if answer.headers.get("upgrade", "").lower() != "websocket":
        return "101, but not to the websocket protocol"
    if answer.headers.get("sec-websocket-accept") != accept:
        return "101, but with a Sec-WebSocket-Accept that does not answer the key sent"
    return None
