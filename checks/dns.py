"""dns.resolve: the DNS servers in use, what they answer for every name, and the system's view.

The client resolves through the system resolver (``getaddrinfo``: ``/etc/hosts``, then DNS);
the DNS servers are also asked directly, so each failure is named (NXDOMAIN, SERVFAIL,
REFUSED, empty answer, no answer) with the server that gave it. A name the client reaches
through a proxy does not need local DNS: its failure here is only a warning that says what
still does (C24). A host that cannot be reached is its host check's failure; this check
warns and explains.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from syntask_doctor.context import Context
from syntask_doctor.dns import NameReport, is_address, resolve_all, servers_for
from syntask_doctor.explain import dns_error
from syntask_doctor.model import Outcome, passed, skipped, warned
from syntask_doctor.probe import ResolveTimeoutError
from syntask_doctor.proxy_use import proxies_in_use
from syntask_doctor.registry import check
from syntask_doctor.routes import proxy_host


@dataclass(frozen=True)
class Name:
    """A name the client may resolve, and why it needs (or does not need) local DNS."""

    name: str
    local: bool
    why: str
    check_id: str | None = None


@check("dns.resolve", "Name resolution: DNS servers and the system resolver", network=True)
def resolve_names(ctx: Context) -> Outcome:
    names = _names(ctx)
    if not names:
        return skipped("Every host is an IP address: nothing to resolve")
    servers, origin = servers_for(ctx.nameservers)
    timeout = ctx.step_timeout()
    reports = resolve_all([n.name for n in names], servers, timeout)
    system = _system(ctx, [n.name for n in names], timeout)
    shown = ", ".join(str(s) for s in servers) or "none"
    details = [f"DNS servers: {shown} ({origin})"]
    details += [_line(n, reports.get(n.name), system[n.name], timeout) for n in names]
    data: dict[str, Any] = {
        "servers": [str(s) for s in servers],
        "servers_origin": origin,
        "names": [_data(n, reports.get(n.name), system[n.name]) for n in names],
    }
    findings = _local_failures(names, reports, system, timeout)
    findings += _c24(ctx, names, reports, system, timeout)
    findings += _disagreements(names, reports, system)
    findings += _dead_servers(reports, timeout)
    if not servers:
        findings.append((f"No DNS server to ask: {origin}", "Check /etc/resolv.conf"))
    if findings:
        summary, remedy = findings[0]
        rest = [s for s, _ in findings[1:]]
        return warned(summary, *rest, *details, remedy=remedy, **data)
    return passed(f"{len(names)} names resolve; DNS servers {shown}", *details, **data)


def _names(ctx: Context) -> list[Name]:
    found: dict[str, Name] = {}
    covered = {role for role in ("http", "https", "all") if role in ctx.proxies.effective}
    for host in ctx.hosts_in_run:
        if is_address(host.name):
            continue
        route = ctx.proxies.route(host.url)
        scheme = host.url.partition("://")[0]
        if route.proxy is not None:
            why = f"its traffic goes through the proxy from {route.variable}"
        elif route.variable and route.variable != "NO_PROXY":
            why = f"NO_PROXY entry {route.variable!r} sends it direct"
        elif covered:
            why = f"{scheme}:// traffic, which no proxy variable covers"
        else:
            why = "no proxy: reached directly"
        found[host.name] = Name(host.name, route.proxy is None, why, host.check_id)
    for use in proxies_in_use(ctx):
        name = proxy_host(use.proxy)
        if name and not is_address(name):
            found[name] = Name(name, True, f"the proxy's own name (from {use.variable})")
    return list(found.values())


def _system(ctx: Context, names: list[str], timeout: float) -> dict[str, tuple[str, ...] | str]:
    """The system resolver's answer per name: addresses, or the error in words."""

    def one(name: str) -> tuple[str, ...] | str:
        try:
            return ctx.system_resolver(name, 443, timeout)
        except ResolveTimeoutError:
            return f"the system resolver got no answer within {timeout:.4g} s"
        except OSError as exc:
            return dns_error(exc)

    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


def _why_not(report: NameReport | None, timeout: float) -> str:
    failure = report.failure if report else None
    return failure.words(timeout) if failure else "DNS itself answers it"


def _line(n: Name, report: NameReport | None, system: tuple[str, ...] | str, timeout: float) -> str:
    need = "needs local DNS" if n.local else "resolved by the proxy"
    if report is None or not report.ok:
        told = _why_not(report, timeout)
    else:
        told = "; ".join(x.words() for x in report.lookups if x.outcome == "ok")
    chain = " -> ".join(
        f"{target} (TTL {ttl} s)" for target, ttl in (report.cnames if report else ())
    )
    via = f"; CNAME {n.name} -> {chain}" if chain else ""
    seen = ", ".join(system) if isinstance(system, tuple) else system
    return f"{n.name} ({need}; {n.why}): DNS {told}{via}; system resolver: {seen}"


def _data(n: Name, report: NameReport | None, system: tuple[str, ...] | str) -> dict[str, Any]:
    lookups = report.lookups if report else ()
    return {
        "name": n.name,
        "needs_local_dns": n.local,
        "why": n.why,
        "dns": {
            x.rdtype: {
                "outcome": x.outcome,
                "server": str(x.server) if x.server else None,
                "records": [{"address": r.address, "ttl": r.ttl} for r in x.records],
            }
            for x in lookups
        },
        "cnames": [{"name": t, "ttl": ttl} for t, ttl in (report.cnames if report else ())],
        "system": list(system) if isinstance(system, tuple) else None,
        "system_error": system if isinstance(system, str) else None,
    }


Finding = tuple[str, str]


def _local_failures(
    names: list[Name],
    reports: dict[str, NameReport],
    system: dict[str, tuple[str, ...] | str],
    timeout: float,
) -> list[Finding]:
    findings = []
    for n in names:
        if n.local and isinstance(system[n.name], str):
            owner = f"{n.check_id} fails on it" if n.check_id else "proxy.connect fails on it"
            findings.append(
                (
                    f"{n.name} cannot be resolved on this machine ({n.why}):"
                    f" {_why_not(reports.get(n.name), timeout)}; {owner}",
                    f"Check this machine's DNS (`getent hosts {n.name}`), or reach {n.name}"
                    " through a proxy that resolves names itself",
                )
            )
    return findings


def _c24(
    ctx: Context,
    names: list[Name],
    reports: dict[str, NameReport],
    system: dict[str, tuple[str, ...] | str],
    timeout: float,
) -> list[Finding]:
    """C24: proxied names that local DNS cannot resolve, and what still needs local DNS."""
    failing = [n for n in names if not n.local and isinstance(system[n.name], str)]
    if not failing:
        return []
    why = _why_not(reports.get(failing[0].name), timeout)
    local = [f"{n.name} ({n.why})" for n in names if n.local]
    entries = [e.text for e in ctx.proxies.no_proxy]
    if entries:
        local.append(f"any host matching NO_PROXY ({', '.join(entries)})")
    still = "; ".join(local) or "nothing the doctor checks"
    listed = ", ".join(n.name for n in failing)
    return [
        (
            f"Local DNS cannot resolve {listed} ({why}): the client is not affected, as the"
            f" proxy resolves the names it carries; still needing local DNS: {still}",
            "Nothing to do for the proxied hosts; for what still needs local DNS, ask for a"
            " working resolver or route it through the proxy (HTTP_PROXY for http:// traffic)",
        )
    ]


def _disagreements(
    names: list[Name], reports: dict[str, NameReport], system: dict[str, tuple[str, ...] | str]
) -> list[Finding]:
    findings = []
    for n in names:
        seen, report = system[n.name], reports.get(n.name)
        if not isinstance(seen, tuple) or report is None or not n.local:
            continue
        asked = report.failure
        if report.ok and not set(seen) & set(report.addresses):
            told = f"DNS answers {', '.join(report.addresses)}"
        elif asked is not None and asked.outcome in ("nxdomain", "empty"):
            told = f"DNS does not know it ({asked.outcome.upper()})"
        else:
            continue
        findings.append(
            (
                f"The system resolver answers {', '.join(seen)} for {n.name}, but {told}: the"
                " client uses the system's answer, likely an /etc/hosts entry",
                f"Check /etc/hosts for {n.name} (`getent hosts {n.name}` shows what the client"
                " gets); remove a stale entry",
            )
        )
    return findings


def _dead_servers(reports: dict[str, NameReport], timeout: float) -> list[Finding]:
    """A server that fails before another answers: every lookup pays for it."""
    slow: dict[str, str] = {}
    for report in reports.values():
        for rdtype in {x.rdtype for x in report.attempts}:
            tried = [x for x in report.attempts if x.rdtype == rdtype]
            if len(tried) > 1 and tried[-1].definitive:
                slow.update((str(x.server), x.outcome) for x in tried[:-1])
    return [
        (
            f"DNS server {server} fails ({outcome}) and the next one answers: every lookup"
            f" waits up to {timeout:.4g} s for it first",
            f"Remove or fix {server} in /etc/resolv.conf",
        )
        for server, outcome in slow.items()
    ]
