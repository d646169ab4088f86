"""What a rejected chain means for the two client paths, and the one setting that fixes both.

``SSL_CERT_FILE`` is the setting that reaches both paths: httpx (the login client) reads it
first, and the workspace client's own ``SYNTASK_API_SSL_CERT_FILE`` defaults to it. So
every fix here ends in ``SSL_CERT_FILE``, and clears the workspace setting when it is set.
"""

from __future__ import annotations

from cryptography import x509

from syntask_doctor import clock, inspection, stores, trust
from syntask_doctor import settings as names
from syntask_doctor.chain import now
from syntask_doctor.context import Context
from syntask_doctor.inspection import HostTrust
from syntask_doctor.settings import Settings

CA_BUNDLE_COMMAND = f"syntask-doctor ca-bundle {trust.BUNDLE}"


def both_paths(s: Settings, bundle: str) -> str:
    """The settings that make both client paths trust ``bundle``."""
    line = f"export SSL_CERT_FILE={bundle}"
    if s.source_of(names.SSL_CERT_FILE) != "defaults":
        line += f"; and {names.how_to_unset(s, names.SSL_CERT_FILE)}"
    if trust.verification_disabled(s):
        line += f"; and {names.how_to_unset(s, names.TLS_INSECURE)}"
    return line


def _fix(ctx: Context) -> str:
    return both_paths(ctx.settings, trust.BUNDLE)


def root_name(verdict: HostTrust) -> str:
    top = verdict.capture.certificates[-1]
    name = top.subject if inspection.is_self_signed(top) else top.issuer
    return repr(name.rfc4514_string())


def describe_fault(ctx: Context, verdict: HostTrust) -> tuple[str, str]:
    """The summary and remedy for a host whose chain a client path rejects."""
    if verdict.kind in ("inspection", "private"):
        return _unknown_root(ctx, verdict)
    if verdict.kind == "public":
        return _public_rejected(ctx, verdict)
    chain = verdict.capture.certificates
    host = verdict.host
    if verdict.kind == "missing-intermediate":
        fetched = verdict.fetched
        name = fetched.subject.rfc4514_string() if fetched else "its intermediate"
        return (
            f"{host} sends its certificate without the intermediate {name!r}: browsers "
            "download it, Python clients do not, so verification fails with 'unable to get "
            "local issuer certificate'",
            "Configure the server to send its full chain (certificate, then intermediate); "
            f"until then `{CA_BUNDLE_COMMAND}` adds the intermediate to a bundle of the public "
            f"roots, then {_fix(ctx)}",
        )
    if verdict.kind in ("expired", "not-yet-valid"):
        return _dates(verdict, chain, _clock_note(ctx))
    if verdict.kind == "hostname":
        names_ = ", ".join(_names(chain[0])) or "no names"
        via = verdict.capture.probe.route.proxy is not None
        return (
            f"The certificate {host} presents is for {names_}, not for {host}",
            "Check the host name in the URL"
            + (
                "; the proxy in the way must sign certificates for this name (TLS inspection)"
                if via
                else ""
            ),
        )
    if verdict.kind == "self-signed":
        return (
            f"{host} presents a self-signed certificate ({chain[0].subject.rfc4514_string()}): "
            "no CA vouches for it",
            f"Give the server a certificate from a CA, or trust this one: `{CA_BUNDLE_COMMAND}` "
            f"adds it to a bundle of the public roots, then {_fix(ctx)}",
        )
    return (
        f"{host}'s chain is not accepted: {verdict.public.message}",
        "See the chain below and ask whoever runs the server or the proxy",
    )


def _unknown_root(ctx: Context, verdict: HostTrust) -> tuple[str, str]:
    named = inspection.product(verdict.capture.certificates)
    root = root_name(verdict)
    host = verdict.host
    if verdict.kind == "inspection":
        what = f"TLS inspection{f' by {named}' if named else ''}: {host} presents a chain"
    else:
        what = f"{host} presents a chain from a private CA"
    start = f"{what} that ends at {root}, which the public roots do not hold"
    rejected = verdict.rejected_by
    if len(rejected) == 1:
        return _split(ctx, start, rejected[0])
    workspace = trust.workspace_source(ctx.settings)
    login = trust.login_source(ctx.env)
    os_file = stores.os_bundle_file()
    if verdict.os is not None and verdict.os.accepted and os_file:
        return (
            f"{start}; the OS trust store accepts it (IT installed the root there), but no "
            "Syntask client path reads the OS store",
            f"{both_paths(ctx.settings, os_file)}  (the OS bundle holds the public roots too)",
        )
    return (
        f"{start}, and neither client path trusts it (workspace client: "
        f"{workspace.location}; login client: {login.location})",
        f"`{CA_BUNDLE_COMMAND}` writes certifi's roots plus this root and prints the "
        f"settings; they are: {_fix(ctx)}",
    )


def _split(ctx: Context, start: str, rejecting: str) -> tuple[str, str]:
    """C17: one client path trusts the chain and the other does not."""
    workspace = trust.workspace_source(ctx.settings)
    login = trust.login_source(ctx.env)
    if rejecting == trust.WORKSPACE:
        headline = "Login works, flows fail"
        good, bad = login, workspace
    else:
        headline = "Flows work, login fails"
        good, bad = workspace, login
    summary = (
        f"{headline}: {start}; the {good.path_name} trusts it ({good.location}, "
        f"{good.reason}), the {bad.path_name} does not ({bad.location}, {bad.reason})"
    )
    if good.path_name == trust.WORKSPACE and trust.verification_disabled(ctx.settings):
        summary = (
            f"{headline}: {start}; flows only work because TLS verification is off, and the "
            f"login client rejects it ({login.location})"
        )
        return summary, f"`{CA_BUNDLE_COMMAND}`, then {_fix(ctx)}"
    if good.kind == "file":
        return summary, f"{both_paths(ctx.settings, good.location)}  (one file, read by both paths)"
    return (
        summary,
        f"`{CA_BUNDLE_COMMAND}` (a folder cannot be shared; a file can), then {_fix(ctx)}",
    )


def _public_rejected(ctx: Context, verdict: HostTrust) -> tuple[str, str]:
    """C21: a public chain that a path's CA file rejects: the file lacks the public roots."""
    workspace = trust.workspace_source(ctx.settings)
    login = trust.login_source(ctx.env)
    sources = [s for s in (workspace, login) if s.path_name in verdict.rejected_by]
    files = sorted({s.location for s in sources})
    return (
        f"{verdict.host} presents a public chain, but the "
        f"{' and the '.join(s.path_name for s in sources)} reject it: "
        f"{', '.join(files)} replaces the public roots instead of adding to them",
        trust.combine_command(*files),
    )


def _clock_note(ctx: Context) -> str:
    """What clock.skew found, which decides whether the certificate or the clock is wrong."""
    found = ctx.result("clock.skew")
    offset = found.outcome.data.get("offset_seconds") if found is not None else None
    if not isinstance(offset, int | float):
        return "this machine's clock could not be compared with the servers' (see clock.skew)"
    return (
        f"this machine's clock agrees with the servers within {clock.duration(offset)} "
        "(clock.skew), so the certificate itself is at fault"
    )


def _dates(
    verdict: HostTrust, chain: tuple[x509.Certificate, ...], clock_note: str
) -> tuple[str, str]:
    moment = now()
    late = [c for c in chain if c.not_valid_after_utc < moment]
    early = [c for c in chain if c.not_valid_before_utc > moment]
    if verdict.kind == "expired" and late:
        cert = late[0]
        when = f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    elif early:
        cert = early[0]
        when = f"is valid only from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    else:
        cert, when = chain[0], f"is not valid now ({verdict.public.message})"
    return (
        f"The certificate {cert.subject.rfc4514_string()!r} presented by {verdict.host} "
        f"{when}; {clock_note}",
        f"Renew the certificate on {verdict.host}"
        + (" (or on the inspecting proxy that minted it)" if verdict.kind == "expired" else ""),
    )


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        found = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in found.value]
