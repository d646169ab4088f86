"""The proxies a run uses, the hosts each one carries, and which ones ``proxy.connect`` found
broken, so that host checks behind a broken proxy defer to that one finding."""

from __future__ import annotations

from dataclasses import dataclass

from syntask_doctor.context import Context
from syntask_doctor.hosts import Host
from syntask_doctor.routes import Route


@dataclass(frozen=True)
class ProxyUse:
    """One distinct proxy, the variable that names it and the hosts it carries."""

    proxy: str
    variable: str
    hosts: tuple[Host, ...]

    @property
    def target(self) -> Host:
        """The host to ask a tunnel for: the API host when it is carried, else an https one."""
        ranked = sorted(self.hosts, key=lambda h: (not h.critical, not h.url.startswith("https")))
        return ranked[0]

    @property
    def critical(self) -> bool:
        return any(host.critical for host in self.hosts)


def proxies_in_use(ctx: Context) -> list[ProxyUse]:
    carried: dict[str, list[tuple[Host, Route]]] = {}
    for host in ctx.hosts_in_run:
        route = ctx.proxies.route(host.url)
        if route.proxy is not None:
            carried.setdefault(route.proxy, []).append((host, route))
    uses = []
    for proxy, pairs in carried.items():
        use = ProxyUse(proxy, "", tuple(host for host, _ in pairs))
        # The variable named in fixes is the one that routes the host asked for.
        variable = next(r.variable for h, r in pairs if h == use.target) or "a proxy variable"
        uses.append(ProxyUse(proxy, variable, use.hosts))
    return uses


def broken_proxies(ctx: Context) -> set[str]:
    """Masked proxy URLs that ``proxy.connect`` found broken in this run."""
    result = ctx.result("proxy.connect")
    if result is None:
        return set()
    return {p["proxy"] for p in result.outcome.data.get("proxies", []) if not p["ok"]}
