"""Trust checks: which CA certificates each client path loads, and whether they load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syntask_doctor import settings as names
from syntask_doctor import trust
from syntask_doctor.context import Context
from syntask_doctor.model import Finding, Outcome, passed, worst_of
from syntask_doctor.registry import check
from syntask_doctor.trust import CaFileState, CaSource, combine_command

IGNORED_CA_VARIABLES = (
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "AWS_CA_BUNDLE",
)
"""CA variables of other tools: set in the same shell, read by no Syntask client path."""


@check("tls.ca_bundle", "Trusted CA certificates")
def ca_bundle(ctx: Context) -> Outcome:
    s = ctx.settings
    workspace, login = trust.workspace_source(s), trust.login_source(ctx.env)
    insecure = trust.verification_disabled(s)
    findings: list[Finding] = []
    details: list[str] = []
    paths: list[dict[str, Any]] = []
    states: dict[str, CaFileState] = {}
    for source in (workspace, login):
        details.append(f"{source.path_name}: {source.kind} {source.location} ({source.reason})")
        entry: dict[str, Any] = {
            "client": source.path_name,
            "kind": source.kind,
            "location": source.location,
            "chosen_by": source.chosen_by,
            "reason": source.reason,
        }
        if source.kind == "dir":
            entry["problem"] = trust.inspect_dir(source.location)
        else:
            if source.location not in states:
                states[source.location] = trust.inspect_file(source.location)
            state = states[source.location]
            entry.update(
                problem=state.problem,
                certificates=state.certificates,
                expired=list(state.expired),
                public_roots=state.public_roots,
            )
        paths.append(entry)

    findings += _insecure_findings(s)  # first: the loudest warning leads
    findings += _file_findings(workspace, login, states, insecure)
    findings += _dir_findings(login)
    findings += _split_findings(workspace, login, states)
    findings += _ignored_findings(ctx, workspace, login)
    for location, state in states.items():
        if state.problem is None:
            details += _contents_lines(location, state)
    data: dict[str, Any] = {
        "paths": paths,
        "verification_disabled": insecure,
        "ignored_variables": [v for v in IGNORED_CA_VARIABLES if ctx.env.get(v)],
    }
    found = worst_of(findings, details, **data)
    if found is not None:
        return found
    if workspace.location == login.location:
        summary = f"Both client paths trust {workspace.location}"
    else:
        summary = "Each client path loads a working CA source"
    return passed(summary, *details, **data)


def _clients(location: str, *sources: CaSource) -> str:
    users = [s.path_name for s in sources if s.kind != "dir" and s.location == location]
    return " and the ".join(users)


def _file_findings(
    workspace: CaSource, login: CaSource, states: dict[str, CaFileState], insecure: bool
) -> list[Finding]:
    findings = []
    for location, state in states.items():
        sources = [s for s in (workspace, login) if s.kind != "dir" and s.location == location]
        variables = sorted({s.chosen_by for s in sources})
        variable = " and ".join(variables) if "default" not in variables else "certifi"
        who = _clients(location, workspace, login)
        if state.problem is not None:
            only_workspace = all(s is workspace for s in sources)
            skipped = insecure and only_workspace
            findings.append(
                Finding(
                    not skipped,
                    f"{variable}={location!r}: {state.problem}. The {who} "
                    + (
                        "skips it only while verification is off, and fails as soon as it is on"
                        if skipped
                        else f"cannot start: {_raises(state, len(sources))} before any request"
                    ),
                    _file_remedy(variables[0] if variable != "certifi" else "certifi", state),
                )
            )
            continue
        if variable == "certifi":
            continue
        if state.certificates == 0:
            findings.append(
                Finding(
                    True,
                    f"{variable}={location!r} holds no certificate the client can use: "
                    f"every TLS handshake of the {who} fails",
                    combine_command("YOUR-CA.pem"),
                )
            )
            continue
        if state.public_roots == 0:
            findings.append(
                Finding(
                    False,
                    f"{variable}={location!r} holds {state.certificates} certificate(s) and none "
                    "of the public roots: it replaces them instead of adding to them, so the "
                    f"{who} {_verb('fail', who)} on every host that is not behind your TLS "
                    "inspection",
                    combine_command(location),
                )
            )
        if state.expired:
            findings.append(
                Finding(
                    False,
                    f"{variable}={location!r}: {len(state.expired)} of {state.certificates} "
                    f"certificates have expired ({'; '.join(state.expired[:3])}); a chain "
                    "through them fails with 'certificate has expired'",
                    "Replace the expired certificates with current ones from whoever issued them",
                )
            )
        if state.authorities == 0:
            findings.append(
                Finding(
                    False,
                    f"{variable}={location!r} holds no CA certificate, only server "
                    "certificates: a chain cannot be anchored on them",
                    "Put the root CA certificate that issued them in the bundle instead",
                )
            )
    return findings


def _verb(verb: str, who: str) -> str:
    return verb if " and " in who else f"{verb}s"


def _raises(state: CaFileState, clients: int) -> str:
    verb = "both raise" if clients > 1 else "it raises"
    unnamed = " (without naming the file)" if state.raises == "FileNotFoundError" else ""
    return f"{verb} {state.raises}{unnamed}"


def _file_remedy(variable: str, state: CaFileState) -> str:
    if variable == "certifi":
        return "Reinstall certifi: `pip install --force-reinstall certifi`"
    problem = state.problem or ""
    if "DER" in problem:
        return (
            f"Convert it to PEM (`openssl x509 -inform der -in {state.path} -out ca.pem`) and "
            f"point {variable} at the PEM file"
        )
    if "directory" in problem:
        return (
            f"{variable} must name a file: concatenate the folder's certificates into one "
            f"bundle with the public roots: {combine_command(folder=state.path)}"
        )
    return (
        f"Point {variable} at an existing PEM bundle, for example {combine_command('YOUR-CA.pem')}"
        f"; or unset {variable} to trust certifi's public roots"
    )


def _dir_findings(login: CaSource) -> list[Finding]:
    if login.kind != "dir":
        return []
    problem = trust.inspect_dir(login.location)
    if problem is None:
        return []
    system = Path(login.location) / "ca-certificates.crt"
    folder = Path(login.location)
    if system.is_file():
        fix = f"export SSL_CERT_FILE={system}"
    elif folder.is_dir() and any(folder.glob("*.pem")):
        fix = combine_command(folder=login.location)
    else:
        # Nothing in it to combine: without the variable, httpx falls back to certifi.
        fix = "unset SSL_CERT_DIR  # then the login client trusts certifi's public roots"
    return [
        Finding(
            True,
            f"SSL_CERT_DIR={login.location!r}: {problem}. OpenSSL accepts it silently and the "
            "login client then fails every TLS handshake (`syntask cloud login` cannot verify "
            "any server)",
            fix,
        )
    ]


def _split_findings(
    workspace: CaSource, login: CaSource, states: dict[str, CaFileState]
) -> list[Finding]:
    """The two paths trust different things: one can work while the other fails."""
    if (workspace.kind, workspace.location) == (login.kind, login.location):
        return []
    good = [
        s for s in (workspace, login) if s.kind == "file" and states[s.location].problem is None
    ]
    if login.kind == "dir":
        summary = (
            f"SSL_CERT_DIR={login.location!r} is read by the login client only; the workspace "
            f"client (flows, workers) never reads it and uses {workspace.location} "
            f"({workspace.reason})"
        )
        fix = (
            f"export SSL_CERT_FILE={good[0].location}"
            if good
            else "Put the certificates in one PEM bundle and point SSL_CERT_FILE at it, which "
            f"both paths read: {combine_command(folder=login.location)}"
        )
    else:
        summary = (
            f"The two client paths trust different CA sets: the workspace client loads "
            f"{workspace.location} ({workspace.reason}); the login client loads "
            f"{login.location} ({login.reason}). Login can work while flows fail, or the reverse"
        )
        target = good[0].location if good else "YOUR-BUNDLE.pem"
        fix = f"export SSL_CERT_FILE={target}"
        if workspace.chosen_by == names.SSL_CERT_FILE:
            fix += f" && unset {names.SSL_CERT_FILE}  # one file, read by both paths"
    return [Finding(False, summary, fix)]


def _ignored_findings(ctx: Context, workspace: CaSource, login: CaSource) -> list[Finding]:
    findings = []
    loaded = {workspace.location, login.location}
    for variable in IGNORED_CA_VARIABLES:
        value = ctx.env.get(variable)
        if not value or value in loaded:
            continue
        if ctx.env.get("SSL_CERT_FILE"):
            continue  # the variable that counts is set; the other tool's one is harmless
        state = trust.inspect_file(value)
        if state.problem is not None:
            fix = (
                f"{value} cannot be used either ({state.problem}): point SSL_CERT_FILE at a "
                "working PEM bundle, or leave it unset to use certifi's public roots"
            )
        elif state.public_roots == 0:
            fix = combine_command(value) + "  # that file alone would replace the public roots"
        else:
            fix = f"export SSL_CERT_FILE={value}  # read by both client paths"
        findings.append(
            Finding(
                False,
                f"{variable} is set, but no Syntask client path reads it: they read "
                f"SSL_CERT_FILE (and {names.SSL_CERT_FILE} for the workspace client), "
                "so the certificates in it are not trusted",
                fix,
            )
        )
    return findings


def _insecure_findings(s: names.Settings) -> list[Finding]:
    # A value that is not a boolean at all is settings.profile's finding, not a trust one.
    raw = s.get(names.TLS_INSECURE)
    origin = s.source_of(names.TLS_INSECURE)
    if names.parse_bool(raw) is not True:
        return []
    return [
        Finding(
            False,
            f"TLS VERIFICATION IS OFF: {names.TLS_INSECURE}={raw!r} (from {origin}) makes the "
            "workspace client accept ANY certificate, so anyone on the network path can read "
            "and change your API key and data (the login client still verifies)",
            f"Remove {names.TLS_INSECURE} and trust the right CA instead: "
            f"{combine_command('YOUR-CA.pem')}",
        )
    ]


def _contents_lines(location: str, state: CaFileState) -> list[str]:
    lines = [
        f"{location}: {state.certificates} certificate(s), {state.public_roots} of them "
        f"public roots, {len(state.expired)} expired"
    ]
    lines += [f"  expired: {subject}" for subject in state.expired]
    lines += [f"  not yet valid: {subject}" for subject in state.not_yet_valid]
    return lines
