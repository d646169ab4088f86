"""Connect to a host's IPv4 and IPv6 addresses separately, and say what a dead family costs.

The client's socket code tries the addresses in ``getaddrinfo`` order, one after the other,
each with the full connect timeout. A family whose packets are dropped therefore stalls every
new connection when it comes first, and costs nothing when it comes after a working one.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

CLIENT_TIMEOUT = 60.0
"""The Syntask client's connect timeout, in seconds: what one dead address costs it."""


@dataclass(frozen=True)
class FamilyTry:
    """One TCP connection attempt to the first address of one family."""

    family: str
    """``IPv4`` or ``IPv6``."""
    address: str
    ok: bool
    seconds: float
    outcome: str
    """``connected``, ``timeout`` or the error's words."""


def family_of(address: str) -> str:
    return (
        "IPv6" if ipaddress.ip_address(address.split("%", maxsplit=1)[0]).version == 6 else "IPv4"
    )


def try_families(addresses: Sequence[str], port: int, timeout: float) -> list[FamilyTry]:
    """The first address of each family, connected to at the same time."""
    firsts: dict[str, str] = {}
    for address in addresses:
        firsts.setdefault(family_of(address), address)
    if len(firsts) < 2:
        return []
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(
            pool.map(lambda item: _connect(item[0], item[1], port, timeout), firsts.items())
        )


def _connect(family: str, address: str, port: int, timeout: float) -> FamilyTry:
    started = time.monotonic()
    try:
        socket.create_connection((address, port), timeout=timeout).close()
    except TimeoutError:
        return FamilyTry(family, address, False, time.monotonic() - started, "timeout")
    except OSError as exc:
        words = exc.strerror or str(exc) or type(exc).__name__
        return FamilyTry(family, address, False, time.monotonic() - started, words)
    return FamilyTry(family, address, True, time.monotonic() - started, "connected")


def verdict(addresses: Sequence[str], tries: Sequence[FamilyTry]) -> tuple[bool, str] | None:
    """(whether it stalls the client, the sentence) when one family fails and one works."""
    working = [t for t in tries if t.ok]
    broken = [t for t in tries if not t.ok]
    if not working or not broken:
        return None
    good, bad = working[0], broken[0]
    ahead = [a for a in addresses[: addresses.index(good.address)] if family_of(a) == bad.family]
    fails = (
        f"{bad.family} ({bad.address}) fails ({bad.outcome}) while {good.family}"
        f" ({good.address}) connects"
    )
    if not ahead:
        return False, f"{fails}; {good.family} is tried first, so nothing waits for {bad.family}"
    if bad.outcome != "timeout":
        return False, f"{fails}; {bad.family} is tried first but fails at once: no stall"
    return True, (
        f"{fails}: {bad.family} is tried first, so every new connection waits for"
        f" {len(ahead)} {bad.family} address(es) to time out before {good.family}, up to"
        f" {len(ahead) * CLIENT_TIMEOUT:g} s with the client's {CLIENT_TIMEOUT:g} s timeout"
    )
