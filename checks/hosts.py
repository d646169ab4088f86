"""Host checks: one layered verdict per host the firewall must allow.

Each host is requested once through the workspace client's settings (trust, proxies);
the verdict names the first layer that failed. Only the API host can fail the run; the
others warn and name the feature that needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import httpx

from syntask_doctor import clients, dns, families, reproduce, trust
from syntask_doctor.context import Context
from syntask_doctor.hosts import Host, hosts_for
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.probe import Probe, fetch, limits
from syntask_doctor.proxy_use import broken_proxies
from syntask_doctor.registry import Check, provider
from syntask_doctor.routes import Route, proxy_environment
from syntask_doctor.secrets import mask_url
from syntask_doctor.settings import Settings

DEPENDS = ("proxy.env", "tls.ca_bundle")


@provider
def host_checks(settings: Settings) -> Iterable[Check]:
    proxies = proxy_environment(settings.env)
    for host in hosts_for(settings):
        # A host behind a proxy waits for proxy.connect: a broken proxy is its finding.
        proxied = _routed(proxies.route, host.url)
        depends = (*DEPENDS, "proxy.connect") if proxied else DEPENDS
        yield Check(host.check_id, f"Reach {host.name}", _runner(host), depends, network=True)


def _routed(route: Callable[[str], Route], url: str) -> bool:
    try:
        return route(url).proxy is not None
    except (httpx.InvalidURL, ValueError):
        return False


def _runner(host: Host) -> Callable[[Context], Outcome]:
    def run(ctx: Context) -> Outcome:
        return check_host(ctx, host)

    return run


def layers_data(probe: Probe) -> list[dict[str, object]]:
    return [
        {
            "name": layer.name,
            "ok": layer.ok,
            "seconds": round(layer.seconds, 4),
            "detail": layer.detail,
        }
        for layer in probe.layers
    ]


def layers_lines(probe: Probe) -> list[str]:
    """One line per layer: name, result, time, and the addresses found by DNS."""
    lines = []
    for layer in probe.layers:
        result = "ok" if layer.ok else "FAILED"
        note = layer.detail if layer.ok else ""
        lines.append(f"{layer.name:<9} {result:<6} {layer.seconds * 1000:7.1f} ms  {note}".rstrip())
    return lines


def check_host(ctx: Context, host: Host) -> Outcome:
    route = ctx.proxies.route(host.url)
    if route.proxy is not None and mask_url(route.proxy) in broken_proxies(ctx):
        return skipped(
            f"Not probed: its proxy {mask_url(route.proxy)} fails (see proxy.connect)",
            host=host.name,
            route=route.shown,
        )
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    try:
        probe = fetch(
            lambda: clients.workspace_client(ctx.settings, timeout),
            host.url,
            route,
            timeout,
            budget=budget,
            resolver=ctx.system_resolver,
        )
    except clients.ClientSetupError as exc:
        return failed(
            f"The client cannot be created, so no host can be reached: {exc}",
            remedy="Fix the setting named above (see the proxy.env and tls.ca_bundle checks)",
            host=host.name,
            failed_layer="client",
        )
    data: dict[str, object] = {
        "host": host.name,
        "url": host.url,
        "route": route.shown,
        "critical": host.critical,
        "feature": host.feature,
        "layers": layers_data(probe),
    }
    lines = [f"route: {route.shown} ({route.reason})", *layers_lines(probe)]
    stall, more, found = _families(ctx, host, probe, timeout)
    lines += more
    data.update(found)
    if probe.answer is not None and probe.error is None:
        data["status_code"] = probe.answer.status
        summary = (
            f"{host.name} reachable ({route.shown}): HTTP {probe.answer.status}"
            f" in {probe.seconds:.2f} s"
        )
        if stall:
            return warned(f"{summary}, but {stall}", *lines, remedy=PREFER_IPV4, **data)
        return passed(summary, *lines, **data)
    layer = probe.failed_layer or "client"
    data.update(failed_layer=layer, cause=probe.cause)
    summary = f"{host.name} unreachable at the {layer.upper()} layer: {probe.error}"
    needed = f"needed for {host.feature}"
    source = trust.workspace_source(ctx.settings)
    remedy = remedy_for(probe, host, route, source.chosen_by if source.kind == "file" else None)
    if layer == "dns":
        name = httpx.URL(route.proxy or host.url).host
        depth = dns_depth(ctx, name, timeout)
        lines.insert(1, f"DNS asked directly: {depth}")
        data["dns"] = depth
    line = reproduce_line(ctx, host.url, route, timeout)
    lines.append(f"reproduce: {line}")
    data["reproduce"] = line
    if host.critical:
        return failed(summary, needed, *lines, remedy=remedy, **data)
    return warned(f"{summary} ({needed})", *lines, remedy=remedy, **data)


PREFER_IPV4 = (
    "Fix the broken address family on this network, or have this machine try IPv4 first:"
    " add the line `precedence ::ffff:0:0/96 100` to /etc/gai.conf (Linux)"
)


def _families(
    ctx: Context, host: Host, probe: Probe, timeout: float
) -> tuple[str | None, list[str], dict[str, object]]:
    """Try IPv4 and IPv6 apart for a direct host with both: the stall (when one is dead and
    comes first), the lines and the data to add."""
    if probe.route.proxy is not None or probe.failed_layer == "dns":
        return None, [], {}
    url = httpx.URL(host.url)
    port = url.port or (443 if url.scheme == "https" else 80)
    tries = families.try_families(probe.addresses, port, min(timeout, max(0.1, ctx.remaining())))
    if not tries:
        return None, [], {}
    data: dict[str, object] = {
        "families": [
            {"family": t.family, "address": t.address, "ok": t.ok, "seconds": round(t.seconds, 4)}
            for t in tries
        ]
    }
    lines = [
        f"{t.family:<9} {'ok' if t.ok else 'FAILED':<6} {t.seconds * 1000:7.1f} ms  {t.address}"
        f" ({t.outcome})"
        for t in tries
    ]
    found = families.verdict(probe.addresses, tries)
    if found is None:
        return None, lines, data
    stalls, sentence = found
    data["family_stall"] = stalls
    return (sentence if stalls else None), [*lines, sentence], data


def dns_depth(ctx: Context, name: str, timeout: float) -> str:
    """What the DNS servers say about ``name`` when the system resolver found nothing."""
    servers, origin = dns.servers_for(ctx.nameservers)
    if not servers:
        return origin
    report = dns.resolve_all([name], servers, min(timeout, max(0.1, ctx.remaining())))[name]
    failure = report.failure
    if failure is None:
        found = ", ".join(report.addresses)
        return f"DNS answers {found}: the system resolver, not DNS, fails (check nsswitch)"
    return failure.words(timeout)


def reproduce_line(ctx: Context, url: str, route: Route, timeout: float) -> str:
    """The curl line for the workspace client's request to ``url``."""
    source = trust.workspace_source(ctx.settings)
    verify = not trust.verification_disabled(ctx.settings)
    return reproduce.curl_line(
        url,
        route,
        reproduce.trust_for(source.kind, source.location, verify),
        timeout,
        http2=clients.http2_enabled(ctx.settings),
        env=ctx.env,
    )


def remedy_for(probe: Probe, host: Host, route: Route, ca_variable: str | None = None) -> str:
    """The concrete next step for the layer and cause that failed.

    ``ca_variable`` is the variable that chose the workspace client's CA file, if one did.
    """
    url = httpx.URL(host.url)
    port = url.port or (443 if url.scheme == "https" else 80)
    proxy = mask_url(route.proxy) if route.proxy else None
    variable = route.variable or ("HTTPS_PROXY" if url.scheme == "https" else "HTTP_PROXY")
    layer, cause = probe.failed_layer, probe.cause
    if layer == "dns":
        if proxy:
            return f"This machine cannot resolve the proxy's name: check {variable}={proxy!r}"
        return (
            f"Check this machine's DNS (`getent hosts {url.host}`), or set {variable}"
            " to a proxy that resolves names for you"
        )
    if layer == "tcp":
        if proxy:
            return f"Check that the proxy {proxy} (from {variable}) is up and reachable from here"
        if cause == "refused":
            return (
                f"Nothing accepts connections at {url.host}:{port}: check the address and port,"
                f" or ask for the firewall to allow {url.host}:{port}"
            )
        return (
            f"Ask for {url.host} port {port} to be allowed through the firewall,"
            f" or set {variable} to the proxy this network allows out"
        )
    if layer == "proxy-tls" and proxy:
        fixed = "http://" + proxy.split("://", 1)[1]
        return (
            f"export {variable}={fixed!r}: the proxy speaks plain HTTP (https:// sites still"
            " go through it, inside a CONNECT tunnel)"
            if cause in ("not-tls", "timeout")
            else f"The proxy's certificate is not trusted: check {variable}={proxy!r}"
        )
    if layer == "proxy":
        return _proxy_remedy(cause, host.name, variable)
    if layer == "tls":
        return _tls_remedy(cause, url.host, port, ca_variable or "SSL_CERT_FILE")
    if layer == "client":
        return "Fix the URL or setting named in the error; the client cannot start"
    if cause == "timeout":
        return (
            f"{url.host} took the request but sent no complete answer in time: check that"
            " server (stuck or overloaded?), or allow more time with --timeout and --deadline"
        )
    return (
        f"{url.host} accepted the connection but did not answer HTTP properly:"
        " look for a device in between (proxy, gateway, TLS inspection) that breaks it"
    )


def _proxy_remedy(cause: str | None, host: str, variable: str) -> str:
    if cause == "proxy-407":
        return (
            f"Put the proxy credentials in {variable}, percent-encoded:"
            " http://USER:PASSWORD@proxy:port (see proxy.connect for the schemes the proxy offers)"
        )
    if cause == "proxy-403":
        return f"Ask the proxy's administrators to allow {host} (CONNECT to port 443)"
    if cause == "timeout":
        return f"The proxy in {variable} does not answer CONNECT: check its address and port"
    return f"The proxy cannot reach {host}: ask for {host} to be allowed beyond the proxy"


def _tls_remedy(cause: str | None, host: str, port: int, ca_variable: str) -> str:
    if cause in ("not-tls", "timeout"):
        return (
            f"Something other than TLS answers at {host}:{port}: check the URL's scheme"
            " (http:// or https://) and port"
        )
    if cause == "hostname":
        return (
            f"The certificate is not for {host}: check the host name in the URL; with TLS"
            " inspection, the proxy must sign certificates for this name"
        )
    if cause == "clock":
        return "Check this machine's clock (see the clock check), then the certificate's dates"
    if cause in ("tls", "reset", "protocol", "other"):
        # No certificate was judged: the handshake itself broke, so trusting a CA cannot help.
        return (
            f"The TLS handshake with {host} broke before any certificate was judged: something"
            " on the way (a proxy or gateway answering in the server's place, a firewall) cut"
            " it; the reproduce line shows it, and the proxy's administrators can say why"
        )
    return (
        "Trust the CA that signed it (tls.interception shows the chain): "
        "`syntask-doctor ca-bundle ~/syntask-ca-bundle.pem` writes a bundle and prints the "
        f"setting to apply (today the client trusts {ca_variable})"
    )
