"""Host checks: one layered verdict per host the firewall must allow."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from syntask_doctor import clients
from syntask_doctor.context import Context
from syntask_doctor.hosts import Host, hosts_for
from syntask_doctor.model import Outcome, failed, passed, warned
from syntask_doctor.probe import Probe, fetch
from syntask_doctor.registry import Check, provider
from syntask_doctor.settings import Settings

DEPENDS = ("proxy.env", "tls.ca_bundle")

REMEDIES = {
    "dns": "Check that this machine resolves the name (`getent hosts {host}`), or route through your proxy with HTTPS_PROXY",
    "tcp": "Ask for {host} port {port} to be allowed through the firewall, or set HTTPS_PROXY to your proxy",
    "proxy-tls": "Check the proxy URL: an https:// proxy must speak TLS, most speak plain http://",
    "proxy": "Check the proxy's address and credentials in the proxy variable",
    "tls": "See the CA advice of tls.ca_bundle: trust the CA that signed this certificate through SSL_CERT_FILE",
    "http": "The host accepted the connection but did not answer HTTP: check for a device in between",
    "client": "Fix the settings named in the error; the client cannot start",
}


@provider
def host_checks(settings: Settings) -> Iterable[Check]:
    for host in hosts_for(settings):
        yield Check(host.check_id, f"Reach {host.name}", _runner(host), DEPENDS, network=True)


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
    return [
        f"{layer.name:<9} {'ok' if layer.ok else 'FAILED':<6} {layer.seconds * 1000:7.1f} ms  {layer.detail if layer.ok else ''}".rstrip()
        for layer in probe.layers
    ]


def check_host(ctx: Context, host: Host) -> Outcome:
    route = ctx.proxies.route(host.url)
    timeout = ctx.step_timeout()
    try:
        probe = fetch(
            lambda: clients.workspace_client(ctx.settings, timeout), host.url, route, timeout
        )
    except clients.ClientSetupError as exc:
        return failed(f"The client cannot be created: {exc}", remedy=REMEDIES["client"])
    data = {
        "host": host.name,
        "url": host.url,
        "route": route.shown,
        "critical": host.critical,
        "layers": layers_data(probe),
    }
    lines = [f"route: {route.shown} ({route.reason})", *layers_lines(probe)]
    if probe.answer is not None:
        answer = probe.answer
        data["status_code"] = answer.status
        return passed(
            f"{host.name} reachable {route.shown}: HTTP {answer.status} in {sum(step.seconds for step in probe.layers):.2f} s",
            *lines,
            **data,
        )
    layer = probe.failed_layer or "client"
    port = 443 if host.url.startswith("https") else 80
    summary = f"{host.name} unreachable, {layer.upper()} layer: {probe.error}"
    needed = f"needed for {host.feature}"
    remedy = REMEDIES.get(layer, REMEDIES["http"]).format(host=host.name, port=port)
    data["failed_layer"] = layer
    if host.critical:
        return failed(summary, needed, *lines, remedy=remedy, **data)
    return warned(f"{summary} ({needed})", *lines, remedy=remedy, **data)
