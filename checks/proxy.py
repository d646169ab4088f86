"""Proxy checks: the proxy variables as httpx reads them, and the route to every host."""

from __future__ import annotations

import importlib.util
from typing import Any

import httpx

from syntask_doctor.api_url import is_loopback
from syntask_doctor.context import Context
from syntask_doctor.hosts import Host
from syntask_doctor.model import Finding, Outcome, passed, worst_of
from syntask_doctor.no_proxy import NoProxyEntry
from syntask_doctor.registry import check
from syntask_doctor.routes import (
    HTTPX_VERSION,
    ProxyEnvironment,
    Route,
    SetupError,
    mask_proxy,
    proxy_host,
    with_scheme,
)

SOCKS_INSTALL = "pip install 'httpx[socks]'"
ENCODE = "percent-encode it in the user name and password: # %23, ? %3F, / %2F, @ %40, : %3A"


@check("proxy.env", "Proxy variables and routes")
def proxy_env(ctx: Context) -> Outcome:
    proxies = ctx.proxies
    routes = [(host, proxies.route(host.url)) for host in ctx.hosts]
    errors = proxies.setup_errors()
    findings = [_setup_finding(proxies, e) for e in errors]
    broken = {e.source for e in errors}
    if not proxies.bypass_all:
        findings += _value_findings(proxies, broken)
        findings += _cancelled_findings(proxies)
        if any(role in proxies.effective for role in ("http", "https", "all")):
            findings += _no_proxy_findings(proxies, routes)
            findings += _missed_host_findings(proxies, routes)
    details = _details(proxies, routes)
    data = _data(proxies, routes, errors)
    found = worst_of(findings, details, **data)
    if found is not None:
        return found
    return passed(_summary(proxies, routes), *details, **data)


def socks_installed() -> bool:
    return importlib.util.find_spec("socksio") is not None


def _socks_status() -> str:
    if socks_installed():
        return "SOCKS support (the socksio package) is installed"
    return f"SOCKS support (the socksio package) is not installed: `{SOCKS_INSTALL}`"


def _setup_finding(proxies: ProxyEnvironment, error: SetupError) -> Finding:
    """A value that makes httpx refuse to create any client: nothing is ever sent."""
    stops = "every Syntask client fails before sending any request, even to hosts in NO_PROXY"
    if error.source.startswith("NO_PROXY entry"):
        entry = next((e for e in proxies.no_proxy if error.source.endswith(repr(e.text))), None)
        return Finding(
            True,
            f"{error.source} cannot be parsed by httpx ({error.exception}: {error.message}): "
            "every Syntask client fails before sending any request",
            _no_proxy_remedy(proxies, entry),
        )
    value = _value_of(proxies, error.source)
    shown = f"{error.source}={mask_proxy(value)!r}"
    scheme = value.strip().partition("://")[0].lower() if "://" in value else "http"
    if error.exception == "ImportError":
        return Finding(
            True,
            f"{shown} names a SOCKS proxy, but SOCKS support (the socksio package) is not "
            f"installed: {stops} (ImportError)",
            f"Install it where Syntask runs: `{SOCKS_INSTALL}`",
        )
    if error.exception == "ValueError" and scheme.startswith("socks"):
        fixed = mask_proxy("socks5://" + value.strip().partition("://")[2])
        install = "" if socks_installed() else f", and install SOCKS support: `{SOCKS_INSTALL}`"
        return Finding(
            True,
            f"{shown}: httpx does not accept the scheme {scheme}:// (it speaks SOCKS5 only, "
            f"written socks5:// or socks5h://): {stops} ('Unknown scheme for proxy URL'); "
            f"{_socks_status()}",
            f"export {error.source}={fixed!r}{install}",
        )
    if error.exception == "ValueError":
        fixed = mask_proxy("http://" + value.strip().partition("://")[2])
        why = "it starts with a space" if value != value.lstrip() else f"{scheme}:// is unknown"
        return Finding(
            True,
            f"{shown}: httpx does not accept this proxy URL ({why}; it knows http, https, "
            f"socks5 and socks5h): {stops}",
            f"export {error.source}={fixed!r}",
        )
    if "@" in value:
        remedy = f"If a character such as # ? / @ : appears in the user name or password, {ENCODE}"
    else:
        remedy = f"Write it as a URL: export {error.source}='http://PROXY-HOST:PORT'"
    return Finding(True, f"{shown}: {error.message}: {stops}", remedy)


def _value_findings(proxies: ProxyEnvironment, broken: set[str]) -> list[Finding]:
    findings = []
    for role in ("https", "http", "all"):
        if role not in proxies.effective:
            continue
        value, name = proxies.effective[role]
        if name in broken:
            continue
        fixed = with_scheme(value.strip())
        if not httpx.URL(with_scheme(value)).host:
            findings.append(
                Finding(
                    True,
                    f"{name}={mask_proxy(value)!r} names no proxy host: every {role} request fails",
                    f"export {name}='http://PROXY-HOST:PORT'",
                )
            )
        elif "://" not in value:
            findings.append(
                Finding(
                    False,
                    f"{name}={mask_proxy(value)!r} has no scheme: httpx assumes http://, but "
                    "other tools in the same shell (curl, pip, git, requests) may refuse it "
                    "or guess differently",
                    f"export {name}={mask_proxy(fixed)!r}",
                )
            )
    return findings


def _cancelled_findings(proxies: ProxyEnvironment) -> list[Finding]:
    findings = []
    for var in proxies.variables:
        if var.used or not var.value or not var.note.startswith("cancelled"):
            continue
        empty = next(
            v.name
            for v in proxies.variables
            if v.role == var.role and v.name.endswith("_proxy") and not v.value
        )
        if var.role == "no":
            effect = "no host bypasses the proxy"
        elif "all" in proxies.effective and var.role != "all":
            effect = f"{var.role}:// URLs use {proxies.effective['all'][1]} instead"
        else:
            effect = f"no proxy is used for {var.role}:// URLs"
        findings.append(
            Finding(
                False,
                f"{var.name} is set, but {empty} is set to an empty value, which cancels it "
                f"(urllib, which httpx uses, lets an empty lowercase variable win): {effect}",
                f"unset {empty}  # to use {var.name}; or unset {var.name} if that is intended",
            )
        )
    return findings


def _no_proxy_findings(
    proxies: ProxyEnvironment, routes: list[tuple[Host, Route]]
) -> list[Finding]:
    findings = []
    for entry in proxies.no_proxy:
        if entry.problem is None or entry.pattern is None:
            continue
        hosts = [host.name for host, route in routes if entry in route.missed]
        affected = ""
        if hosts:
            proxy = next(r.shown for h, r in routes if h.name == hosts[0])
            verb = "goes" if len(hosts) == 1 else "go"
            affected = f"; so {', '.join(hosts)} still {verb} through the {proxy}"
        findings.append(
            Finding(
                False,
                f"NO_PROXY entry {entry.text!r}: {entry.problem}{affected}",
                _no_proxy_remedy(proxies, entry),
            )
        )
    return findings


def _missed_host_findings(
    proxies: ProxyEnvironment, routes: list[tuple[Host, Route]]
) -> list[Finding]:
    """Hosts sent to a proxy that an entry (without a problem of its own) or loopback misses."""
    findings = []
    for host, route in routes:
        if route.proxy is None:
            continue
        for entry in route.missed:
            if entry.problem is None:
                findings.append(
                    Finding(
                        False,
                        f"{host.name} goes through the {route.shown} although NO_PROXY entry "
                        f"{entry.text!r} looks meant for it: that entry covers {entry.note}",
                        _no_proxy_remedy(proxies, None, add=host.name),
                    )
                )
        if is_loopback(host.name) and not is_loopback(proxy_host(route.proxy)):
            findings.append(
                Finding(
                    False,
                    f"{host.name} is on this machine but goes through the {route.shown}: "
                    "httpx never bypasses loopback addresses by itself",
                    _no_proxy_remedy(proxies, None, add=f"localhost,127.0.0.1,::1,{host.name}"),
                )
            )
    return findings


def _no_proxy_remedy(
    proxies: ProxyEnvironment, entry: NoProxyEntry | None, add: str | None = None
) -> str:
    """An ``export NO_PROXY=...`` line with ``entry`` repaired (or dropped) and ``add`` added."""
    name = proxies.effective.get("no", ("", "NO_PROXY"))[1]
    texts = [e.text for e in proxies.no_proxy]
    if entry is not None:
        texts = [(entry.suggestion or "") if t == entry.text else t for t in texts]
    for item in (add or "").split(","):
        if item and item not in texts:
            texts.append(item)
    line = f"export {name}={','.join(t for t in texts if t)!r}"
    if entry is not None and entry.suggestion is None:
        return f"{line}  # list the hosts or addresses themselves instead of {entry.text!r}"
    return line


def _value_of(proxies: ProxyEnvironment, name: str) -> str:
    return next((v.value for v in proxies.variables if v.name == name), "")


def _details(proxies: ProxyEnvironment, routes: list[tuple[Host, Route]]) -> list[str]:
    lines = [f"rules of httpx {HTTPX_VERSION} (installed: httpx {httpx.__version__})"]
    for var in proxies.variables:
        shown = var.value if var.role == "no" else mask_proxy(var.value)
        lines.append(f"{var.name}={shown!r}: {var.note}")
    for entry in proxies.no_proxy:
        if entry.note and not entry.problem:
            lines.append(f"NO_PROXY entry {entry.text!r} matches {entry.note}")
    schemes = [v.value.partition("://")[0].lower() for v in proxies.variables if v.used]
    if any(s.startswith("socks") for s in schemes):
        lines.append(_socks_status())
    if "https" in schemes:
        lines.append(
            "an https:// proxy is spoken to with TLS; most corporate proxies speak plain HTTP "
            "and are written http:// even for HTTPS sites"
        )
    return lines + route_table(routes)


def decided_by(route: Route) -> str:
    """The variable, or the NO_PROXY entry, that chose this route."""
    if route.proxy is not None:
        return route.variable or "?"
    if route.variable and route.variable != "NO_PROXY":
        return f"NO_PROXY entry {route.variable!r}"
    return route.variable or "no proxy variable applies"


def route_table(routes: list[tuple[Host, Route]]) -> list[str]:
    """Every host with httpx's route for it and the variable (or entry) that decided, then why."""
    rows = [("host", "route", "decided by")]
    rows += [(h.name, r.shown, decided_by(r)) for h, r in routes]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = ["routes (httpx's own decision for each host):"]
    lines += [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    lines += [f"  {host.url}: {route.reason}" for host, route in routes]
    return lines


def _data(
    proxies: ProxyEnvironment, routes: list[tuple[Host, Route]], errors: tuple[SetupError, ...]
) -> dict[str, Any]:
    return {
        "httpx_rules": HTTPX_VERSION,
        "routes": [
            {
                "host": host.name,
                "url": host.url,
                "route": route.shown,
                "variable": route.variable,
                "decided_by": decided_by(route),
                "reason": route.reason,
                "missed": [e.text for e in route.missed],
            }
            for host, route in routes
        ],
        "variables": [
            {
                "name": v.name,
                "value": v.value if v.role == "no" else mask_proxy(v.value),
                "used": v.used,
                "note": v.note,
            }
            for v in proxies.variables
        ],
        "no_proxy": [
            {"entry": e.text, "problem": e.problem, "suggestion": e.suggestion, "note": e.note}
            for e in proxies.no_proxy
        ],
        "bypass_all": proxies.bypass_all,
        "setup_errors": [
            {"source": e.source, "exception": e.exception, "message": e.message} for e in errors
        ],
        "socks_installed": socks_installed(),
    }


def _summary(proxies: ProxyEnvironment, routes: list[tuple[Host, Route]]) -> str:
    if proxies.bypass_all:
        return "No proxy: NO_PROXY contains '*', which turns every proxy off"
    proxied = sorted({route.shown for _, route in routes if route.proxy is not None})
    if not proxied:
        return "No proxy: every host is reached directly"
    direct = [host.name for host, route in routes if route.proxy is None]
    tail = f"; direct: {', '.join(direct)}" if direct else ""
    return f"Routes through {', '.join(proxied)}{tail}"
