"""tls.http2: with ``SYNTASK_API_ENABLE_HTTP2`` on, whether the client can speak HTTP/2 and
what ALPN agrees with the API along the client's route.

Without the ``h2`` package the workspace client fails at creation, before any request; an
inspecting proxy that only speaks HTTP/1.1 makes ALPN fall back, which works; a device
that accepts HTTP/2 and then breaks it is the case where HTTP/2 must be turned off.
"""

from __future__ import annotations

import importlib
import ssl
from typing import Any

import httpx

from syntask_doctor import clients, trust
from syntask_doctor.context import Context
from syntask_doctor.explain import describe
from syntask_doctor.model import Outcome, failed, passed, warned
from syntask_doctor.probe import limits
from syntask_doctor.registry import check
from syntask_doctor.settings import ENABLE_HTTP2, how_to_set

INSTALL = "pip install 'httpx[http2]'"


def h2_missing() -> str | None:
    """Why ``import h2`` fails, as it fails inside httpx; ``None`` when it works."""
    try:
        importlib.import_module("h2")
    except ImportError as exc:
        return str(exc) or "h2 cannot be imported"
    return None


def negotiate(client: httpx.Client, url: str) -> tuple[str, str | None]:
    """GET ``url`` (no credentials): the HTTP version spoken and the protocol ALPN chose."""
    seen: dict[str, str | None] = {}

    def keep(response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        seen["alpn"] = ssl_object.selected_alpn_protocol() if ssl_object is not None else None

    client.event_hooks = {"response": [keep]}
    with client, client.stream("GET", url) as response:
        return response.http_version, seen.get("alpn")


@check(
    "tls.http2",
    "HTTP/2 with the API",
    depends_on=("proxy.env", "tls.interception"),
    network=True,
)
def http2(ctx: Context) -> Outcome:
    s = ctx.settings
    if not clients.http2_enabled(s):
        return passed(
            f"HTTP/2 is off ({ENABLE_HTTP2} is not true): the client speaks HTTP/1.1",
            enabled=False,
        )
    turn_off = how_to_set(s, ENABLE_HTTP2, "false")
    missing = h2_missing()
    if missing is not None:
        return failed(
            f"{ENABLE_HTTP2} is on, but the h2 package is missing: the workspace client fails "
            "at creation with ImportError, before any request",
            f"import h2: {missing}",
            remedy=f"{INSTALL}; or turn HTTP/2 off: {turn_off}",
            enabled=True,
            h2_installed=False,
        )
    api = next((h for h in ctx.hosts_in_run if h.critical), None)
    if api is None or not api.url.startswith("https://"):
        return passed(
            "HTTP/2 is on, but the API URL is not https://: HTTP/1.1 is used", enabled=True
        )
    timeout, _ = limits(ctx.step_timeout(), ctx.remaining())
    route = ctx.proxies.route(api.url)
    data: dict[str, Any] = {"enabled": True, "h2_installed": True, "route": route.shown}
    try:
        version, alpn = negotiate(clients.workspace_client(s, timeout), api.url)
    except clients.ClientSetupError as exc:
        return failed(f"The workspace client cannot be created: {exc}", **data)
    except Exception as exc:  # noqa: BLE001 - a failure is the finding
        return _broken(ctx, api.url, describe(exc, timeout), turn_off, data)
    data.update(http_version=version, alpn=alpn)
    if version == "HTTP/2":
        return passed(f"HTTP/2 with {api.name} ({route.shown}): ALPN chose h2", **data)
    via = f"the proxy on the route ({route.shown})" if route.proxy else api.name
    return passed(
        f"HTTP/2 is on, but ALPN chose {alpn or 'no protocol'}: {via} does not offer HTTP/2, "
        "so the client falls back to HTTP/1.1, which works",
        **data,
    )


def _broken(ctx: Context, url: str, error: str, turn_off: str, data: dict[str, Any]) -> Outcome:
    """HTTP/2 failed: blame it only if the same request works over HTTP/1.1."""
    timeout, _ = limits(ctx.step_timeout(), ctx.remaining())
    try:
        verify: ssl.SSLContext | bool = False
        if not trust.verification_disabled(ctx.settings):
            verify = trust.ssl_context_for(trust.workspace_source(ctx.settings))
        plain = httpx.Client(verify=verify, trust_env=True, timeout=httpx.Timeout(timeout))
        version, _ = negotiate(plain, url)
    except Exception as exc:  # noqa: BLE001
        return warned(
            f"HTTP/2 could not be tested: the API cannot be reached at all ({describe(exc)})",
            "the host checks say why",
            **data,
        )
    data.update(http_version_fallback=version, error=error)
    return failed(
        f"HTTP/2 breaks the connection to the API ({error}), while {version} works",
        remedy=f"Turn HTTP/2 off: {turn_off}",
        **data,
    )
