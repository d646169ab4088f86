"""tls.interception: the chain each HTTPS host presents, and who trusts it.

This check owns certificate verdicts; the host checks own reaching a host (DNS, TCP, proxy,
a handshake that is not TLS). A host whose chain a client path rejects is reported here
once, with the chain as evidence and the fix.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import replace
from typing import Any

from cryptography import x509

from syntask_doctor import inspection, stores, trust
from syntask_doctor.chain import Verification, fingerprint
from syntask_doctor.context import Context
from syntask_doctor.hosts import Host
from syntask_doctor.inspection import HostTrust
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.probe import limits
from syntask_doctor.registry import check
from syntask_doctor.tls_fixes import describe_fault, root_name


def https_hosts(ctx: Context) -> list[Host]:
    return [h for h in ctx.hosts_in_run if h.url.startswith("https://")]


def judge_all(ctx: Context, hosts: list[Host]) -> list[HostTrust]:
    """Judge every host at once, each in its own thread, within the run's limits."""
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    done: queue.Queue[tuple[int, HostTrust]] = queue.Queue()

    def work(index: int, host: Host) -> None:
        done.put((index, inspection.judge(ctx, host, timeout, budget)))

    for index, host in enumerate(hosts):
        threading.Thread(target=work, args=(index, host), daemon=True).start()
    found: dict[int, HostTrust] = {}
    # Each host: a capture, up to four verifying handshakes and a CA-issuers download; every
    # step stops itself near the run's deadline, and a host still busy then has no verdict.
    while len(found) < len(hosts):
        try:
            index, verdict = done.get(timeout=max(0.1, ctx.remaining()))
        except queue.Empty:
            break
        found[index] = verdict
    return [found[i] for i in sorted(found)]


@check(
    "tls.interception",
    "TLS inspection: the chain each host presents",
    depends_on=("proxy.env", "tls.ca_bundle", "clock.skew"),
    network=True,
)
def interception(ctx: Context) -> Outcome:
    hosts = https_hosts(ctx)
    verdicts = judge_all(ctx, hosts)
    verdicts = _cross_host(verdicts)
    details = all_lines(verdicts)
    system = stores.os_store()
    details.append(f"OS trust store: {system.location if system else 'none found'}")
    data: dict[str, Any] = {
        "hosts": [host_data(v) for v in verdicts],
        "os_store": system.location if system else None,
        "os_store_note": "read by neither Syntask client path",
    }
    missing = [h.name for h in hosts if h.name not in {v.host for v in verdicts}]
    details += [f"{name}: no verdict within the time limit" for name in missing]
    problems = [v for v in verdicts if not _ok(v)]
    critical = [v for v in problems if v.critical]
    if critical:
        summary, remedy = describe_fault(ctx, critical[0])
        return failed(summary, *details, remedy=remedy, **data)
    if problems:
        summary, remedy = describe_fault(ctx, problems[0])
        return warned(summary, *details, remedy=remedy, **data)
    if not any(v.kind != "unreached" for v in verdicts):
        return skipped(_healthy(ctx, verdicts), *details, **data)
    return passed(_healthy(ctx, verdicts), *details, **data)


def _ok(verdict: HostTrust) -> bool:
    return verdict.kind == "unreached" or verdict.accepted_by_both


def _cross_host(verdicts: list[HostTrust]) -> list[HostTrust]:
    """A private-looking chain whose root also re-signs public hosts is inspection too."""
    roots = {
        v.capture.certificates[-1].issuer
        for v in verdicts
        if v.kind == "inspection" and v.capture.certificates
    }
    return [
        replace(v, kind="inspection")
        if v.kind == "private" and v.capture.certificates[-1].issuer in roots
        else v
        for v in verdicts
    ]


def _healthy(ctx: Context, verdicts: list[HostTrust]) -> str:
    seen = [v for v in verdicts if v.kind != "unreached"]
    if not seen:
        return "No chain captured: no HTTPS host was reached up to TLS (the host checks say why)"
    trusted = f"both client paths trust it ({_source_text(ctx)})"
    inspected = [v for v in seen if v.kind == "inspection"]
    private = [v for v in seen if v.kind == "private"]
    if inspected:
        named = inspection.product(inspected[0].capture.certificates)
        by = f" by {named}" if named else ""
        hosts = ", ".join(v.host for v in inspected)
        return (
            f"TLS inspection{by} on {hosts}: the chain ends at {root_name(inspected[0])}, "
            f"which the public roots do not hold, and {trusted}"
        )
    if private:
        hosts = ", ".join(v.host for v in private)
        return (
            f"{hosts}: a private CA ({root_name(private[0])}), which the public roots do not "
            f"hold; {trusted}; no TLS inspection seen"
        )
    return f"No TLS inspection: {len(seen)} host(s) present chains that verify against certifi"


def _source_text(ctx: Context) -> str:
    workspace = trust.workspace_source(ctx.settings)
    login = trust.login_source(ctx.env)
    if workspace.location == login.location:
        return workspace.location
    return f"workspace client: {workspace.location}; login client: {login.location}"


def cert_lines(certificate: x509.Certificate, index: int) -> list[str]:
    sans = ", ".join(_sans(certificate)) or "none"
    return [
        f"  [{index}] {certificate.subject.rfc4514_string()}",
        f"      issued by {certificate.issuer.rfc4514_string()}",
        f"      names: {sans}; valid {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} to "
        f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
        f"      SHA-256 {fingerprint(certificate)}",
    ]


def _sans(certificate: x509.Certificate) -> list[str]:
    try:
        names_ = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in names_.value]


def _verdict_text(verdict: Verification | None) -> str:
    if verdict is None:
        return "not asked"
    if verdict.accepted:
        return "accepts" + (f" ({verdict.message})" if verdict.message else "")
    if verdict.accepted is False:
        return f"rejects: {verdict.message} (OpenSSL code {verdict.code})"
    return f"could not tell: {verdict.message}"


def host_lines(verdict: HostTrust, same_as: str | None = None) -> list[str]:
    """The host's chain and each store's verdict; a chain like one shown before, in brief."""
    chain = verdict.capture.certificates
    if verdict.kind == "unreached":
        return [f"{verdict.host}: no chain captured: {verdict.capture.probe.error}"]
    named = inspection.product(chain)
    head = f"{verdict.host}: {verdict.kind}" + (f" (issuer names {named})" if named else "")
    if same_as is not None:
        return [
            f"{head}, same root and verdicts as {same_as}; leaf SHA-256 {fingerprint(chain[0])}"
        ]
    lines = [head, f"  route: {verdict.capture.probe.route.shown}"]
    for index, certificate in enumerate(chain):
        lines += cert_lines(certificate, index)
    if not verdict.capture.whole_chain:
        lines.append("  (this Python shows only the leaf of the presented chain)")
    stores = [
        ("public roots (certifi)", verdict.public),
        ("workspace client", verdict.workspace),
        ("login client", verdict.login),
        ("OS trust store", verdict.os),
    ]
    grouped: dict[str, list[str]] = {}
    for label, found in stores:
        if found is not None:
            grouped.setdefault(_verdict_text(found), []).append(label)
    lines += [f"  {', '.join(labels)}: {text}" for text, labels in grouped.items()]
    return lines


def _likeness(verdict: HostTrust) -> tuple[object, ...]:
    chain = verdict.capture.certificates
    stores = (verdict.public, verdict.workspace, verdict.login, verdict.os)
    return (verdict.kind, fingerprint(chain[-1]) if chain else None, len(chain), *stores)


def all_lines(verdicts: list[HostTrust]) -> list[str]:
    lines: list[str] = []
    shown: dict[tuple[object, ...], str] = {}
    for verdict in verdicts:
        key = _likeness(verdict)
        lines += host_lines(verdict, shown.get(key) if verdict.kind != "unreached" else None)
        shown.setdefault(key, verdict.host)
    return lines


def _verdict_data(verdict: Verification | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"accepted": verdict.accepted, "code": verdict.code, "message": verdict.message}


def host_data(verdict: HostTrust) -> dict[str, Any]:
    return {
        "host": verdict.host,
        "critical": verdict.critical,
        "kind": verdict.kind,
        "route": verdict.capture.probe.route.shown,
        "product": inspection.product(verdict.capture.certificates),
        "chain": [
            {
                "subject": c.subject.rfc4514_string(),
                "issuer": c.issuer.rfc4514_string(),
                "names": _sans(c),
                "not_before": c.not_valid_before_utc.isoformat(),
                "not_after": c.not_valid_after_utc.isoformat(),
                "sha256": fingerprint(c),
            }
            for c in verdict.capture.certificates
        ],
        "public_roots": _verdict_data(verdict.public),
        "workspace_client": _verdict_data(verdict.workspace),
        "login_client": _verdict_data(verdict.login),
        "os_store": _verdict_data(verdict.os),
        "error": verdict.capture.probe.error if verdict.kind == "unreached" else None,
    }
