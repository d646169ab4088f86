"""clock.skew: this machine's clock against the API host's ``Date`` and one other host's.

A clock minutes off makes tokens look "issued in the future"; one days or years off makes
every certificate look "not yet valid" or "expired". The TLS checks run after this one, so
a certificate verdict is never blamed on a certificate when the clock is to blame.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from syntask_doctor import chain, clock
from syntask_doctor.chain import Capture
from syntask_doctor.context import Context
from syntask_doctor.hosts import Host
from syntask_doctor.model import Outcome, failed, passed, warned
from syntask_doctor.probe import Probe, limits
from syntask_doctor.registry import check
from syntask_doctor.routes import Route

SYNC = (
    "Turn on time synchronisation: `sudo timedatectl set-ntp true` (Linux), "
    "`sudo sntp -sS time.apple.com` (macOS), `w32tm /resync` (Windows); in a container, "
    "fix the host's clock"
)


def compared_hosts(ctx: Context) -> list[Host]:
    """The API host (the critical one) and one other host, HTTPS preferred."""
    critical = [h for h in ctx.hosts_in_run if h.critical]
    others = sorted(
        (h for h in ctx.hosts_in_run if not h.critical),
        key=lambda h: not h.url.startswith("https"),
    )
    return critical[:1] + others[:1]


def prefetch(ctx: Context, hosts: list[Host]) -> None:
    """Start the captures the TLS checks will need, so that they do not start only after
    the clock is read: one connection per host serves both, and no wait is added."""
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    shared = chain.for_run(ctx)
    for host in hosts:
        route = ctx.proxies.route(host.url)

        def make(host: Host = host, route: Route = route) -> Capture:
            return chain.capture(host.url, route, timeout, budget)

        threading.Thread(target=shared.get, args=(host.url, make, 0), daemon=True).start()


def captured(ctx: Context, hosts: list[Host]) -> list[Capture]:
    """Each host's unverified capture (shared with the TLS checks), made in parallel."""
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    found: queue.Queue[tuple[int, Capture]] = queue.Queue()
    shared = chain.for_run(ctx)

    def work(index: int, host: Host) -> None:
        route = ctx.proxies.route(host.url)

        def make() -> Capture:
            return chain.capture(host.url, route, timeout, budget)

        result = shared.get(host.url, make, budget + 1)
        if result is None:
            result = Capture(host.url, Probe(host.url, route, (), error="no answer in time"))
        found.put((index, result))

    for index, host in enumerate(hosts):
        threading.Thread(target=work, args=(index, host), daemon=True).start()
    results: dict[int, Capture] = {}
    while len(results) < len(hosts):
        try:
            index, result = found.get(timeout=max(0.1, min(budget + 2, ctx.remaining())))
        except queue.Empty:
            break
        results[index] = result
    return [results[i] for i in sorted(results)]


@check("clock.skew", "This machine's clock", depends_on=("proxy.env",), network=True)
def clock_skew(ctx: Context) -> Outcome:
    hosts = compared_hosts(ctx)
    prefetch(ctx, [h for h in ctx.hosts_in_run if h.url.startswith("https://")])
    readings: list[tuple[str, float]] = []
    details: list[str] = []
    for host, capture in zip(hosts, captured(ctx, hosts), strict=False):
        seconds = clock.offset(capture.date, capture.received)
        if seconds is None:
            why = capture.probe.error or "its answer has no readable Date header"
            details.append(f"{host.name}: not compared ({why})")
            continue
        readings.append((host.name, seconds))
        details.append(
            f"{host.name}: Date {capture.date!r}; this machine is "
            f"{clock.duration(seconds)} {clock.direction(seconds)} it"
        )
    data: dict[str, Any] = {
        "readings": [{"host": h, "offset_seconds": round(s, 1)} for h, s in readings]
    }
    if not readings:
        return warned(
            "The clock could not be compared: no host answered with a Date header",
            *details,
            remedy="See the host checks for why the hosts cannot be reached",
            offset_seconds=None,
            **data,
        )
    # The local clock is only proven wrong by as much as every server agrees it is.
    # Readings a few seconds apart are the same reading: then the API host is named.
    nearest, seconds = min(readings, key=lambda r: round(abs(r[1]) / 5))
    data["offset_seconds"] = round(seconds, 1)
    if len(readings) > 1 and abs(readings[0][1] - readings[1][1]) > clock.WARN_SECONDS:
        details.append("the servers disagree with each other: one of their clocks is off")
    size = abs(seconds)
    said = f"This machine's clock is {clock.duration(seconds)} {clock.direction(seconds)} {nearest}"
    if size > clock.FAIL_SECONDS and len(readings) == 1:
        # One server's Date alone cannot tell this machine's clock from that server's.
        details.append("only one server could be compared: its own clock may be the wrong one")
        return warned(
            f"{said}, by the only server compared: {_tls_effect(seconds)}",
            *details,
            remedy=f"Compare with another server, or {SYNC[0].lower()}{SYNC[1:]}",
            **data,
        )
    if size > clock.FAIL_SECONDS:
        tls = _tls_effect(seconds)
        return failed(f"{said}: {tls}", *details, remedy=SYNC, **data)
    if size > clock.WARN_SECONDS:
        return warned(
            f"{said}: tokens can look 'issued in the future' and short-lived checks fail",
            *details,
            remedy=SYNC,
            **data,
        )
    close = "within a second of" if size <= clock.RESOLUTION else "close to"
    return passed(f"This machine's clock is {close} {nearest}'s", *details, **data)


def _tls_effect(seconds: float) -> str:
    what = "not yet valid" if seconds < 0 else "expired"
    return (
        f"TLS errors that say a certificate is '{what}' come from this clock, not from the "
        "certificate, and tokens look issued at the wrong time"
    )
