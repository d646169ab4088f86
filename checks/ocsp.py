"""tls.ocsp: whether the API host's certificate is revoked, asked of its own OCSP responder.

Python clients, the Syntask client among them, never check revocation. Browsers, other
tools and strict firewalls do, which is why the allow-list names an OCSP host; so an
unreachable responder warns, and only a revoked certificate fails.
"""

from __future__ import annotations

from typing import Any

from syntask_doctor import chain, inspection, ocsp
from syntask_doctor.chain import Capture
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.probe import Probe, limits
from syntask_doctor.registry import check
from syntask_doctor.routes import Route, mask_proxy

WHO_NEEDS_IT = (
    "Python clients (the Syntask client too) do not check revocation, but browsers, other "
    "tools and strict firewalls do"
)


def _capture(ctx: Context, url: str, route: Route, timeout: float, budget: float) -> Capture:
    def make() -> Capture:
        return chain.capture(url, route, timeout, budget)

    found = chain.for_run(ctx).get(url, make, budget + 1)
    return found or Capture(url, Probe(url, route, (), error="no answer in time"))


@check(
    "tls.ocsp",
    "Revocation of the API host's certificate (OCSP)",
    depends_on=("proxy.env", "tls.interception"),
    network=True,
)
def ocsp_check(ctx: Context) -> Outcome:
    api = next((h for h in ctx.hosts_in_run if h.critical and h.url.startswith("https://")), None)
    if api is None:
        return skipped("The API host is not reached over HTTPS: there is no certificate to check")
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    seen = _capture(ctx, api.url, ctx.proxies.route(api.url), timeout, budget)
    leaf = seen.leaf
    if leaf is None:
        return skipped(f"No certificate captured from {api.name} (see tls.interception)")
    responders, _ = inspection.aia_urls(leaf)
    subject = leaf.subject.rfc4514_string()
    if not responders:
        return skipped(
            f"The certificate {api.name} presents ({subject}) names no OCSP responder: normal "
            "today, since many CAs stopped OCSP in 2025; there is nothing to ask"
        )
    url = responders[0]
    issuer = inspection.anchor_in(leaf, list(seen.certificates[1:])) or inspection.fetch_issuer(
        leaf, ctx.proxies, timeout, budget
    )
    data: dict[str, Any] = {"responder": url, "certificate": subject}
    if issuer is None:
        return warned(
            f"{api.name}'s issuer is neither in the presented chain nor downloadable, so no "
            "OCSP request can be built",
            **data,
        )
    route = ctx.proxies.route(url)
    answer = ocsp.ask(url, route, leaf, issuer, timeout)
    data.update(route=route.shown, status=answer.status, cause=answer.cause)
    details = [f"responder {url} (from the certificate's AIA), {route.shown}: {route.reason}"]
    if answer.status is None:
        return _no_verdict(ctx, api.name, answer, details, data)
    details.append(f"signed by {answer.signer}")
    details += _dates(answer)
    if answer.status == "revoked":
        when = f"{answer.revoked_at:%Y-%m-%d %H:%M} UTC" if answer.revoked_at else "unknown time"
        data.update(revoked_at=str(answer.revoked_at), reason=answer.reason)
        return failed(
            f"The certificate of {api.name} is REVOKED since {when} (reason: "
            f"{answer.reason or 'not given'}), says its CA's responder",
            *details,
            remedy=f"Whoever runs {api.name} must install a new certificate; do not trust this one",
            **data,
        )
    stale = ocsp.freshness(answer, chain.now())
    if answer.status == "unknown":
        return warned(
            f"The OCSP responder does not know {api.name}'s certificate", *details, **data
        )
    if stale:
        return warned(f"The OCSP answer for {api.name} is 'good', but {stale}", *details, **data)
    return passed(f"{api.name}'s certificate is not revoked (OCSP: good)", *details, **data)


def _dates(answer: ocsp.Answer) -> list[str]:
    lines = []
    if answer.this_update:
        lines.append(f"this update {answer.this_update:%Y-%m-%d %H:%M} UTC")
    if answer.next_update:
        lines.append(f"next update {answer.next_update:%Y-%m-%d %H:%M} UTC")
    return lines


def _no_verdict(
    ctx: Context, host: str, answer: ocsp.Answer, details: list[str], data: dict[str, Any]
) -> Outcome:
    if not (answer.cause or "").startswith("unreachable"):
        return warned(
            f"No usable OCSP answer about {host}'s certificate: {answer.problem}", *details, **data
        )
    remedy = f"Allow {answer.url} through the firewall or proxy for the tools that need it"
    effective = ctx.proxies.effective
    if answer.route.proxy is None and "https" in effective and "all" not in effective:
        value, variable = effective["https"]
        details.append(
            f"plain-http traffic such as OCSP follows HTTP_PROXY, which is not set, while "
            f"{variable} only covers https:// URLs: the request went direct"
        )
        remedy = f"export HTTP_PROXY={mask_proxy(value)}  (OCSP is plain http)"
    return warned(
        f"The OCSP responder of {host}'s certificate cannot be reached: {answer.problem}. "
        f"{WHO_NEEDS_IT}",
        *details,
        remedy=remedy,
        **data,
    )
