"""api.websocket: the events WebSocket opens along the client's route and trust (101 expected).

REST calls and the event stream share the route; what differs is the ``Upgrade``. A proxy
that inspects TLS may strip that header or refuse it, and then only the event stream
breaks (C15): this check names the proxy when REST works (``api.reach`` passed) and the
upgrade does not.
"""

from __future__ import annotations

from typing import Any

from syntask_doctor import clients
from syntask_doctor import websocket as ws
from syntask_doctor.answers import gateway_remedy, html_page
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, Status, failed, passed, skipped
from syntask_doctor.probe import fetch, limits
from syntask_doctor.registry import check
from syntask_doctor.secrets import mask_url


@check("api.websocket", "Events WebSocket opens", ("api.reach",), network=True)
def events_websocket(ctx: Context) -> Outcome:
    api_url = (ctx.settings.api_url or "").strip()
    if not api_url:
        return skipped("No API URL: the client has no event stream to open")
    rest = ctx.result("api.reach")
    if rest is not None and rest.status is not Status.PASS:
        # Only when REST works can a failed upgrade be blamed on what differs for WebSockets.
        return skipped(f"Not judged: api.reach did not pass ({rest.outcome.summary})")
    url = ws.ws_url(api_url)
    target = ws.http_url(url)
    route = ctx.proxies.route(target)
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    headers, accept = ws.handshake()
    try:
        probe = fetch(
            lambda: clients.workspace_client(ctx.settings, timeout),
            target,
            route,
            timeout,
            headers,
            budget=budget,
            resolver=ctx.system_resolver,
        )
    except clients.ClientSetupError as exc:
        return failed(f"The workspace client cannot be created: {exc}")
    details = [f"WebSocket upgrade to {url} ({route.shown}), trust as the workspace client"]
    details += [
        f"{x.name}: {'ok' if x.ok else 'FAILED'} {x.seconds * 1000:.1f} ms" for x in probe.layers
    ]
    data: dict[str, Any] = {
        "url": url,
        "route": route.shown,
        "layers": [x.name for x in probe.layers],
    }
    if probe.answer is None or probe.error is not None:
        data.update(failed_layer=probe.failed_layer, cause=probe.cause)
        return failed(
            f"The WebSocket connection failed at the {probe.failed_layer} layer: {probe.error}",
            *details,
            remedy="REST works (api.reach passed), so look at what differs for this URL:"
            " a proxy or firewall rule for long-lived connections",
            **data,
        )
    answer = probe.answer
    data["status_code"] = answer.status
    wrong = ws.problem(answer, accept)
    if wrong is None:
        return passed(
            f"The events WebSocket opens: 101 Switching Protocols in {probe.seconds:.2f} s"
            f" ({route.shown})",
            *details,
            **data,
        )
    page = html_page(answer)
    if page is not None:
        data["html_title"] = page.title
        details.append(f"the answer is an HTML page titled {page.title!r}")
    if route.proxy is not None:
        proxy = mask_url(route.proxy)
        return failed(
            f"The proxy {proxy} (from {route.variable}) strips or refuses the WebSocket upgrade:"
            f" {wrong}. REST calls work (api.reach passed); the event stream does not",
            *details,
            remedy=(
                f"Ask the proxy's administrators to allow WebSocket upgrades to"
                f" {httpx_host(target)} (and to exempt it from TLS inspection if the proxy"
                " decrypts), or reach it directly: add it to NO_PROXY if the firewall allows"
            ),
            **data,
        )
    return failed(
        f"The server (or a gateway or reverse proxy in front of it) did not open the"
        f" WebSocket: {wrong}. REST calls work (api.reach passed)",
        *details,
        remedy=gateway_remedy(target)
        if page is not None and page.sign_in
        else "Check the reverse proxy or load balancer in front of the API: it must pass"
        " `Upgrade: websocket` and `Connection: Upgrade` through to the server",
        **data,
    )


def httpx_host(url: str) -> str:
    return url.partition("://")[2].split("/", 1)[0]
