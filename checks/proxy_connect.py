"""proxy.connect: each proxy in use is reached, spoken to and asked for a tunnel to the API.

This check owns every fault of a proxy itself: its name, its port, TLS to an ``https://``
proxy, authentication (407 and the schemes offered), and its refusal to reach the API host.
Host checks routed through a proxy depend on it, so a broken proxy is one finding here, not
one per host. A proxy value httpx cannot parse is ``proxy.env``'s finding, before this.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from syntask_doctor import reproduce, trust
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.probe import limits
from syntask_doctor.proxy_use import ProxyUse, proxies_in_use
from syntask_doctor.registry import check
from syntask_doctor.secrets import mask_url
from syntask_doctor.trace import Layer
from syntask_doctor.tunnel import Tunnel, open_tunnel

SPECIAL = "@ %40, : %3A, / %2F, # %23, ? %3F, % %25, space %20"
BUILD_URL = (
    "python3 -c 'import getpass, shlex, urllib.parse as u;"
    ' q = lambda s: u.quote(s, safe="");'
    ' print("export {variable}=" + shlex.quote("{scheme}://"'
    ' + q(getpass.getpass("proxy user: ")) + ":"'
    ' + q(getpass.getpass("proxy password: ")) + "@{address}"))\''
)
"""Prints the export line with both values percent-encoded; nothing is echoed or stored."""
RELAY = (
    "Run a local authenticating relay that speaks NTLM/Negotiate for you, such as px"
    " (`pip install px-proxy`, then `px --proxy={address}`) or cntlm, and point {variable}"
    " at it: export {variable}='http://127.0.0.1:3128'"
)


@check("proxy.connect", "Proxies answer and open tunnels", ("proxy.env",), network=True)
def proxy_connect(ctx: Context) -> Outcome:
    uses = proxies_in_use(ctx)
    if not uses:
        return skipped("No proxy in use: every host is reached directly")
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    with ThreadPoolExecutor(max_workers=len(uses)) as pool:
        tunnels = list(
            pool.map(
                lambda use: open_tunnel(
                    use.proxy, use.target.url, timeout, budget, ctx.system_resolver
                ),
                uses,
            )
        )
    entries = [_entry(ctx, use, tunnel, timeout) for use, tunnel in zip(uses, tunnels, strict=True)]
    details = [line for _, _, _, lines in entries for line in lines]
    data: dict[str, Any] = {"proxies": [entry for _, _, entry, _ in entries]}
    faults = [(use, verdict) for use, verdict, _, _ in entries if verdict is not None]
    if not faults:
        shown = ", ".join(f"{mask_url(u.proxy)} (from {u.variable})" for u in uses)
        return passed(f"Every proxy in use opens its tunnels: {shown}", *details, **data)
    use, (summary, remedy) = next(((u, v) for u, v in faults if u.critical), faults[0])
    rest = [s for u, (s, _) in faults if s != summary]
    if use.critical:
        return failed(summary, *rest, *details, remedy=remedy, **data)
    return warned(summary, *rest, *details, remedy=remedy, **data)


def _entry(
    ctx: Context, use: ProxyUse, tunnel: Tunnel, timeout: float
) -> tuple[ProxyUse, tuple[str, str] | None, dict[str, Any], list[str]]:
    shown = mask_url(use.proxy)
    carried = ", ".join(h.name for h in use.hosts)
    lines = [f"{shown} (from {use.variable}) carries {carried}; asked for {tunnel.target}"]
    lines += [_layer_line(layer) for layer in tunnel.layers]
    verdict = None if tunnel.cause is None else _verdict(use, tunnel)
    line = _reproduce(ctx, use, timeout)
    if verdict is not None:
        lines.append(f"reproduce: {line}")
    entry = {
        "proxy": shown,
        "variable": use.variable,
        "hosts": [h.name for h in use.hosts],
        "target": tunnel.target,
        "ok": tunnel.cause is None,
        "cause": tunnel.cause,
        "failed_layer": tunnel.failed_layer,
        "status_code": tunnel.status,
        "schemes": list(tunnel.schemes),
        "credentials_sent": tunnel.credentials_sent,
        "layers": [
            {"name": x.name, "ok": x.ok, "seconds": round(x.seconds, 4), "detail": x.detail}
            for x in tunnel.layers
        ],
        "reproduce": line if verdict is not None else None,
    }
    return use, verdict, entry, lines


def _layer_line(layer: Layer) -> str:
    result = "ok" if layer.ok else "FAILED"
    return f"  {layer.name:<9} {result:<6} {layer.seconds * 1000:7.1f} ms  {layer.detail}".rstrip()


def _reproduce(ctx: Context, use: ProxyUse, timeout: float) -> str:
    source = trust.workspace_source(ctx.settings)
    verify = not trust.verification_disabled(ctx.settings)
    route = ctx.proxies.route(use.target.url)
    return reproduce.curl_line(
        use.target.url,
        route,
        reproduce.trust_for(source.kind, source.location, verify),
        timeout,
        env=ctx.env,
    )


def _verdict(use: ProxyUse, tunnel: Tunnel) -> tuple[str, str]:
    """The summary and the fix for a proxy that did not open the tunnel."""
    shown, variable = mask_url(use.proxy), use.variable
    head = f"The proxy {shown} (from {variable})"
    address = use.proxy.rpartition("@")[2].partition("://")[2] or use.proxy.rpartition("@")[2]
    fixed = "http://" + shown.partition("://")[2]
    layer, cause, error = tunnel.failed_layer, tunnel.cause, tunnel.error or ""
    if cause == "proxy-407":
        return _authentication(use, tunnel, head, address)
    if layer == "dns":
        return f"{head} cannot be found: {error}", f"Check the proxy's name in {variable}"
    if layer == "tcp":
        return (
            f"{head} cannot be reached: {error}",
            f"Check the address and port in {variable}, and that the proxy runs and is"
            " reachable from this machine",
        )
    if layer == "proxy-tls" and cause in ("not-tls", "timeout"):
        return (
            f"{head} does not speak TLS: {error}",
            f"export {variable}={fixed!r}  # HTTPS sites still go through it, in a CONNECT tunnel",
        )
    if layer == "proxy-tls":
        return (
            f"{head} speaks TLS, but its own certificate is not trusted: {error}",
            "An https:// proxy is checked against OpenSSL's default CA file (SSL_CERT_FILE"
            " when set) plus certifi, not the client's SYNTASK_API_SSL_CERT_FILE: add the"
            f" proxy's CA to the file SSL_CERT_FILE names, or use export {variable}={fixed!r}"
            " if the proxy also speaks plain HTTP",
        )
    host = use.target.name
    if cause == "proxy-403":
        return (
            f"{head} refuses a tunnel to {tunnel.target} by policy: {error}",
            f"Ask the proxy's administrators to allow {host} (CONNECT to {tunnel.target})",
        )
    if cause in ("proxy-502", "proxy-503", "proxy-504"):
        return (
            f"{head} cannot reach {tunnel.target} beyond itself: {error}",
            f"Ask the proxy's administrators whether {host} is blocked or unreachable from"
            " the proxy; the proxy itself works",
        )
    if cause == "timeout":
        return (
            f"{head} accepts connections but does not answer: {error}",
            f"Check that {variable} names the proxy's HTTP port (a SOCKS port is written"
            " socks5://)",
        )
    return f"{head} did not open a tunnel: {error}", f"Check {variable} and the proxy's logs"


def _authentication(use: ProxyUse, tunnel: Tunnel, head: str, address: str) -> tuple[str, str]:
    variable = use.variable
    offered = ", ".join(tunnel.schemes) or "no scheme at all"
    basic = any(s.lower() == "basic" for s in tunnel.schemes)
    scheme = use.proxy.partition("://")[0] or "http"
    build = BUILD_URL.format(variable=variable, scheme=scheme, address=address.rstrip("/"))
    encode = (
        f"the user name and password go into {variable} percent-encoded ({SPECIAL});"
        f" this command asks for both and prints the export line to run: {build}"
    )
    if tunnel.credentials_sent and basic:
        return (
            f"{head} rejected the credentials in the URL (user {tunnel.user!r}): 407 Proxy"
            f" Authentication Required; it offers {offered}",
            f"Check the user name and password; {encode}",
        )
    if basic:
        return (
            f"{head} demands credentials (407 Proxy Authentication Required); it offers"
            f" {offered}, which httpx can answer",
            f"Give httpx your proxy credentials: {encode}",
        )
    return (
        f"{head} demands authentication httpx cannot do (407 Proxy Authentication Required):"
        f" it offers {offered}, and httpx"
        " only sends Basic credentials",
        RELAY.format(address=address, variable=variable),
    )
