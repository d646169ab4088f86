"""Proxy checks: the proxy variables as httpx reads them, and the route to every host."""

from __future__ import annotations

import importlib.util

from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, failed, passed, warned
from syntask_doctor.registry import check
from syntask_doctor.routes import ALLOWED_PROXY_SCHEMES, proxy_problem, with_scheme
from syntask_doctor.secrets import mask_url

SOCKS_INSTALL = "pip install 'httpx[socks]'"


@check("proxy.env", "Proxy variables and routes")
def proxy_env(ctx: Context) -> Outcome:
    proxies = ctx.proxies
    details: list[str] = []
    failures: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []

    for var in proxies.variables:
        shown = mask_url(var.value) if var.role != "no" else var.value
        details.append(f"{var.name}={shown!r}: {var.note}")
    for role in ("https", "http", "all"):
        if role not in proxies.effective:
            continue
        value, name = proxies.effective[role]
        scheme = value.split("://", 1)[0].lower() if "://" in value else None
        fixed = with_scheme(value)
        problem = proxy_problem(value)
        if scheme is None:
            warnings.append(
                (
                    f"{name} has no scheme: httpx assumes http://, other tools in the same shell may not",
                    f"export {name}={mask_url(fixed)!r}",
                )
            )
        if problem and scheme is not None and scheme not in ALLOWED_PROXY_SCHEMES:
            hint = (
                "socks5://" + value.split("://", 1)[1]
                if scheme.startswith("socks")
                else "http://" + value.split("://", 1)[1]
            )
            failures.append(
                (
                    f"{name} uses the scheme {scheme}://, which httpx does not accept: the client fails before any request ({problem})",
                    f"export {name}={mask_url(hint)!r}"
                    + (
                        f" and {SOCKS_INSTALL}"
                        if hint.startswith("socks") and not _socks_installed()
                        else ""
                    ),
                )
            )
        elif problem and "ImportError" in problem:
            failures.append(
                (
                    f"{name} names a SOCKS proxy but the socksio package is not installed: the client fails before any request, even for hosts in NO_PROXY",
                    f"`{SOCKS_INSTALL}` in the Syntask environment",
                )
            )
        elif problem:
            failures.append(
                (
                    f"{name} cannot be used by httpx: {problem}",
                    "Percent-encode special characters in the user name and password (e.g. # as %23, @ as %40)",
                )
            )
    cancelled = [v for v in proxies.variables if not v.used and v.note.startswith("cancelled")]
    for var in cancelled:
        details.append(
            f"no proxy is used for {var.role}:// URLs because {var.role}_proxy is set but empty"
        )
    for entry in proxies.no_proxy:
        if entry.problem and entry.pattern is None:
            failures.append(
                (f"NO_PROXY entry {entry.text!r}: {entry.problem}", "Remove or correct that entry")
            )
        elif entry.problem:
            warnings.append(
                (
                    f"NO_PROXY entry {entry.text!r}: {entry.problem}",
                    f"Write {entry.suggestion!r} instead"
                    if entry.suggestion
                    else "Name the hosts themselves",
                )
            )

    routes = []
    for host in ctx.hosts:
        route = proxies.route(host.url)
        routes.append(
            {
                "host": host.name,
                "url": host.url,
                "route": route.shown,
                "variable": route.variable,
                "reason": route.reason,
            }
        )
        details.append(f"{host.url} -> {route.shown} ({route.reason})")
    data = {
        "routes": routes,
        "variables": [
            {"name": v.name, "value": mask_url(v.value), "used": v.used, "note": v.note}
            for v in proxies.variables
        ],
    }
    if failures:
        summary, remedy = failures[0]
        return failed(
            summary,
            *[f for f, _ in failures[1:]],
            *[w for w, _ in warnings],
            *details,
            remedy=remedy,
            **data,
        )
    if warnings:
        summary, remedy = warnings[0]
        return warned(summary, *[w for w, _ in warnings[1:]], *details, remedy=remedy, **data)
    used = sorted({str(r["route"]) for r in routes if r["route"] != "direct"})
    if not used:
        why = (
            " ("
            + "; ".join(
                f"{v.role}_proxy is set but empty, which cancels {v.name}" for v in cancelled
            )
            + ")"
            if cancelled
            else ""
        )
        return passed(f"No proxy: every host is reached directly{why}", *details, **data)
    return passed(f"Routes through {', '.join(used)}", *details, **data)


def _socks_installed() -> bool:
    return importlib.util.find_spec("socksio") is not None
