"""Trust checks: which CA certificates each client path loads, and whether they load."""

from __future__ import annotations

from syntask_doctor import settings as names
from syntask_doctor import trust
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, failed, passed, warned
from syntask_doctor.registry import check

IGNORED_CA_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "AWS_CA_BUNDLE",
)


@check("tls.ca_bundle", "Trusted CA certificates")
def ca_bundle(ctx: Context) -> Outcome:
    s = ctx.settings
    sources = (trust.workspace_source(s), trust.login_source(ctx.env))
    details: list[str] = []
    failures: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    data: dict[str, object] = {"paths": []}

    for source in sources:
        details.append(f"{source.path_name}: {source.kind} {source.location} ({source.reason})")
        entry: dict[str, object] = {
            "client": source.path_name,
            "kind": source.kind,
            "location": source.location,
            "chosen_by": source.chosen_by,
        }
        if source.kind == "dir":
            problem = trust.inspect_dir(source.location)
            entry["problem"] = problem
            if problem:
                failures.append(
                    (
                        f"SSL_CERT_DIR={source.location!r}: {problem}; the {source.path_name} will fail at every TLS handshake",
                        "Point SSL_CERT_FILE at a PEM bundle instead, which both client paths read",
                    )
                )
        else:
            state = trust.inspect_file(source.location)
            entry.update(
                problem=state.problem, certificates=state.certificates, expired=list(state.expired)
            )
            variable = source.chosen_by if source.kind == "file" else "certifi"
            if state.problem:
                failures.append(
                    (
                        f"{variable}={source.location!r}: {state.problem}; the {source.path_name} cannot start (it raises before any request)",
                        f"Point {variable} at a readable PEM bundle, or unset it to use certifi's public roots",
                    )
                )
            else:
                details.append(
                    f"  {state.certificates} certificates"
                    + (f", {len(state.expired)} expired" if state.expired else "")
                )
                for subject in state.expired:
                    details.append(f"  expired: {subject}")
                if source.kind == "file" and state.public_roots == 0:
                    warnings.append(
                        (
                            f"{variable} holds {state.certificates} certificate(s) and none of the public roots: it replaces them instead of adding to them, so hosts that are not intercepted will fail",
                            f'Build a bundle of certifi\'s roots plus your own: `cat "$(python -m certifi)" {source.location} > ~/syntask-ca.pem` and point {variable} at it',
                        )
                    )
        data["paths"].append(entry)  # type: ignore[attr-defined]

    ignored = [v for v in IGNORED_CA_VARIABLES if ctx.env.get(v)]
    for variable in ignored:
        warnings.append(
            (
                f"{variable} is set, but no Syntask client path reads it",
                f"export SSL_CERT_FILE={ctx.env[variable]!r}  # read by both client paths",
            )
        )
    if ctx.env.get("SSL_CERT_DIR") and not ctx.env.get("SSL_CERT_FILE"):
        warnings.append(
            (
                "SSL_CERT_DIR is read by the login client only; the workspace client (flows, workers) never reads it",
                "Put the certificates in one PEM file and point SSL_CERT_FILE at it",
            )
        )
    if trust.verification_disabled(s):
        warnings.append(
            (
                f"{names.TLS_INSECURE} is on: the workspace client accepts ANY certificate, so anyone on the path can read your key and data",
                f"Remove {names.TLS_INSECURE} and trust the right CA through {names.SSL_CERT_FILE}",
            )
        )
    elif names.parse_bool(s.get(names.TLS_INSECURE)) is None:
        failures.append(
            (
                f"{names.TLS_INSECURE}={s.get(names.TLS_INSECURE)!r} is not a boolean: the client refuses to start",
                f"Set {names.TLS_INSECURE} to true or false, or remove it",
            )
        )
    data["verification_disabled"] = trust.verification_disabled(s)
    data["ignored_variables"] = ignored
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
    same = sources[0].location == sources[1].location
    summary = (
        f"Both client paths trust {sources[0].location}"
        if same
        else "Each client path loads a working CA source"
    )
    return passed(summary, *details, **data)
