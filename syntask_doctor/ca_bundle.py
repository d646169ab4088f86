"""``syntask-doctor ca-bundle``: write a CA bundle that makes both client paths trust the API.

The bundle is certifi's public roots plus what the live chain needs: the root an inspecting
proxy signs with (or a private CA's root), a missing intermediate, or a self-signed server
certificate. With ``--os-roots`` the OS store's roots are added too. One variable,
``SSL_CERT_FILE``, then reaches both paths: httpx reads it first, and the workspace client's
``SYNTASK_API_SSL_CERT_FILE`` defaults to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import certifi
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from syntask_doctor import inspection, stores, trust
from syntask_doctor.chain import capture, fingerprint, verify
from syntask_doctor.hosts import hosts_for
from syntask_doctor.routes import proxy_environment
from syntask_doctor.settings import Settings
from syntask_doctor.tls_fixes import both_paths


class BundleError(Exception):
    """No bundle was written; the message says why and what to do."""


@dataclass
class Bundle:
    """What was written, and the lines to show."""

    path: Path
    added: list[x509.Certificate] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def target_url(settings: Settings) -> str:
    """The host whose chain matters most: the API host over HTTPS, else the Cloud API's."""
    hosts = hosts_for(settings)
    critical = [h for h in hosts if h.critical and h.url.startswith("https://")]
    if critical:
        return critical[0].url
    return str(httpx.URL(settings.cloud_api_url).copy_with(path="/", query=None))


def needed(
    url: str, settings: Settings, timeout: float
) -> tuple[list[x509.Certificate], list[str]]:
    """The certificates the live chain at ``url`` needs beyond certifi, and what was seen."""
    proxies = proxy_environment(settings.env)
    route = proxies.route(url)
    seen = capture(url, route, timeout, 3 * timeout)
    host = httpx.URL(url).host
    if not seen.certificates:
        raise BundleError(f"no TLS chain captured from {host} ({route.shown}): {seen.probe.error}")
    lines = [f"Chain presented by {host} ({route.shown}):"]
    for index, cert in enumerate(seen.certificates):
        lines.append(f"  [{index}] {cert.subject.rfc4514_string()}")
        lines.append(f"      issued by {cert.issuer.rfc4514_string()}")
    public = verify(url, stores.public_store().context(), timeout)
    if public.accepted is None:
        raise BundleError(f"the chain of {host} could not be verified: {public.message}")
    if public.accepted:
        lines.append("It verifies against certifi's public roots: no TLS inspection seen.")
        return [], lines
    lines.append(f"It does not verify against certifi's public roots: {public.message}.")
    chain = seen.certificates
    top = chain[-1]
    if public.code == 18 or inspection.is_self_signed(top):
        return [top], lines
    found = inspection.anchor_in(top, stores.os_roots()) or inspection.fetch_issuer(
        top, proxies, timeout, 3 * timeout
    )
    if found is None:
        raise BundleError(
            f"{host}'s chain stops at {top.issuer.rfc4514_string()!r}, and that certificate "
            "was neither presented, nor in the OS trust store, nor downloadable: ask IT for "
            'it as a PEM file and add it with `cat "$(python -m certifi)" ROOT.pem > OUT.pem`'
        )
    return [found], lines


def write(out: Path, settings: Settings, timeout: float = 5.0, os_roots: bool = False) -> Bundle:
    """Capture the API host's chain, write the bundle to ``out``, say how to use it."""
    url = target_url(settings)
    added, lines = needed(url, settings, timeout)
    public = list(trust.public_roots())
    known = {c.fingerprint(hashes.SHA256()) for c in public}
    extra = [c for c in added if c.fingerprint(hashes.SHA256()) not in known]
    if os_roots:
        known |= {c.fingerprint(hashes.SHA256()) for c in extra}
        extra += [c for c in stores.os_roots() if c.fingerprint(hashes.SHA256()) not in known]
    text = Path(certifi.where()).read_bytes()
    for cert in extra:
        text += f"\n# Added by syntask-doctor: {cert.subject.rfc4514_string()}\n".encode()
        text += cert.public_bytes(serialization.Encoding.PEM)
    path = Path(os.path.abspath(os.path.expanduser(str(out))))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
    except OSError as exc:
        raise BundleError(f"cannot write {path}: {exc.strerror or exc}") from exc
    lines.append(f"Wrote {path}: {len(public)} public roots (certifi) + {len(extra)} added")
    lines += [f"  + {c.subject.rfc4514_string()}  SHA-256 {fingerprint(c)}" for c in extra]
    lines += [
        "Make both client paths trust it:",
        *(f"  {part.strip()}" for part in both_paths(settings, str(path)).split("; and ")),
        "SSL_CERT_FILE covers both paths: httpx (syntask cloud login) reads it first, and "
        "the workspace client's SYNTASK_API_SSL_CERT_FILE defaults to it.",
    ]
    return Bundle(path, extra, lines)
