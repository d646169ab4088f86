"""How httpx reads each ``NO_PROXY`` entry, and what its author most likely meant by it.

httpx turns every entry into a mount pattern (``get_environment_proxies``); entries written
for curl or other tools (``*.example.com``, CIDR ranges, ``host:443``) often match nothing.
Each entry is judged here: the problem, the entry to write instead, or a note when it is
narrower than people expect but probably intended.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class NoProxyEntry:
    """One comma-separated entry of ``NO_PROXY`` and what httpx makes of it."""

    text: str
    pattern: str | None
    """The mount pattern httpx makes of it; ``None`` for ``*`` and for entries that break
    client creation."""
    problem: str | None
    """Why it does not do what its author most likely meant."""
    suggestion: str | None
    """The entry to write instead, when there is one."""
    note: str | None = None
    """What it matches, when that is narrower than people expect but probably intended."""


def mount_key(raw: str) -> str:
    """The mount key httpx makes of a ``NO_PROXY`` entry (``get_environment_proxies``)."""
    if "://" in raw:
        return raw
    if is_ip(raw, ipaddress.IPv4Address):
        return f"all://{raw}"
    if is_ip(raw, ipaddress.IPv6Address):
        return f"all://[{raw}]"
    if raw.lower() == "localhost":
        return f"all://{raw}"
    return f"all://*{raw}"


def entries(text: str) -> list[NoProxyEntry]:
    entries = []
    for raw in (part.strip() for part in text.split(",")):
        if raw == "*":
            entries.append(NoProxyEntry(raw, None, None, None, "turns every proxy off"))
        elif raw:
            entries.append(_no_proxy_entry(raw))
    return entries


def _no_proxy_entry(raw: str) -> NoProxyEntry:
    pattern = mount_key(raw)
    try:
        httpx.URL(pattern)
    except (httpx.InvalidURL, ValueError) as exc:
        problem = f"httpx cannot parse it ({exc}), so every client fails at creation"
        return NoProxyEntry(raw, None, problem, _repair(raw))
    return NoProxyEntry(raw, pattern, *_judge(raw))


def _repair(raw: str) -> str | None:
    inner = raw.strip("[]")
    if inner != raw and is_ip(inner, ipaddress.IPv6Address):
        return inner
    try:
        return raw.encode("idna").decode("ascii") if not raw.isascii() else None
    except UnicodeError:
        return None


def _judge(raw: str) -> tuple[str | None, str | None, str | None]:
    """(problem, suggestion, note) for an entry httpx accepts."""
    parts = [p for p in re.split(r"[\s;]+", raw) if p]
    if len(parts) > 1:
        return ("entries are separated by commas: this one matches nothing", ",".join(parts), None)
    if raw.startswith("*."):
        return ("httpx does not understand '*.' globs: this entry matches nothing", raw[1:], None)
    if raw.startswith("*"):
        return (
            "httpx does not understand a leading '*': this entry matches nothing",
            raw[1:],
            None,
        )
    if "*" in raw:
        return (
            "httpx does not understand '*' inside a name: this entry matches nothing",
            None,
            None,
        )
    if "/" in raw and "://" not in raw:
        network = raw.split("/", 1)[0]
        problem = f"httpx does not understand CIDR ranges: only the address {network} matches"
        return (problem, None, None)
    if "://" in raw:
        scheme, _, host = raw.partition("://")
        return (None, None, f"only {scheme}:// URLs to exactly {host}, not its subdomains")
    host, sep, port = raw.rpartition(":")
    if sep and port.isdigit() and not is_ip(raw, ipaddress.IPv6Address):
        if port in ("80", "443"):
            problem = f"a default port never matches: httpx sees no port in URLs to {host}"
            return (problem, host, None)
        return (None, None, f"only URLs that name port {port} explicitly")
    if raw.startswith("."):
        return (None, None, f"subdomains of {raw[1:]} only, not {raw[1:]} itself")
    return None, None, None


def meant_for(raw: str, url: httpx.URL) -> bool:
    """Whether an entry reads, to a person (or to curl), as covering this URL."""
    text = raw.strip().lower()
    if "://" in text or text == "*":
        return False
    match = re.fullmatch(r"\[?(?P<name>[^\]]*?)\]?(?::(?P<port>\d+))?", text)
    if match is None or is_ip(text, ipaddress.IPv6Address):
        name, port = text, None
    else:
        name, port = match["name"], match["port"]
    if port is not None and int(port) != (url.port or (443 if url.scheme == "https" else 80)):
        return False
    try:
        network = ipaddress.ip_network(name, strict=False)
    except ValueError:
        name = name.lstrip("*").lstrip(".")
        return bool(name) and (url.host == name or url.host.endswith(f".{name}"))
    try:
        return ipaddress.ip_address(url.host) in network
    except ValueError:
        return False


def miss_reason(entry: NoProxyEntry) -> str:
    if entry.problem:
        return entry.problem
    return entry.note or "httpx reads it differently"


def is_ip(text: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(text.split("/", maxsplit=1)[0])
    except ValueError:
        return False
    return True
