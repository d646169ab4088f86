"""Judge a presented chain by verification: public, TLS inspection, a private CA, or a fault.

The verdict never rests on issuer names. A chain is public when it verifies against
certifi; otherwise OpenSSL's error code says what is wrong, and the cryptographic links
between certificates (who signed whom) separate a missing intermediate from an unknown CA.
Issuer names only serve to name an inspection product, as information.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from syntask_doctor import trust
from syntask_doctor.chain import Capture, Verification, for_run, parse_der, verify
from syntask_doctor.chain import capture as chain_capture
from syntask_doctor.context import Context
from syntask_doctor.hosts import ALLOW_LIST, Host
from syntask_doctor.probe import Probe, fetch
from syntask_doctor.routes import ProxyEnvironment
from syntask_doctor.stores import Store, os_store, path_store, public_store

PRODUCTS = (
    ("zscaler", "Zscaler"),
    ("netskope", "Netskope"),
    ("palo alto", "Palo Alto Networks"),
    ("fortinet", "Fortinet FortiGate"),
    ("fortigate", "Fortinet FortiGate"),
    ("blue coat", "Symantec/Broadcom ProxySG (Blue Coat)"),
    ("bluecoat", "Symantec/Broadcom ProxySG (Blue Coat)"),
    ("forcepoint", "Forcepoint"),
    ("sophos", "Sophos"),
    ("check point", "Check Point"),
    ("checkpoint", "Check Point"),
    ("cisco umbrella", "Cisco Umbrella"),
    ("opendns", "Cisco Umbrella"),
    ("mcafee", "McAfee/Skyhigh Web Gateway"),
    ("skyhigh", "McAfee/Skyhigh Web Gateway"),
    ("menlo", "Menlo Security"),
    ("iboss", "iboss"),
    ("cloudflare gateway", "Cloudflare Gateway"),
    ("cato networks", "Cato Networks"),
    ("barracuda", "Barracuda"),
    ("kaspersky", "Kaspersky"),
    ("avast", "Avast"),
    ("eset", "ESET"),
)
"""Words in an issuer that name an inspection product. Information only, never a verdict."""

FAULTS = {
    9: "not-yet-valid",
    10: "expired",
    18: "self-signed",
    62: "hostname",
    64: "hostname",
}
UNKNOWN_ISSUER = (2, 19, 20)
"""Codes of a chain that ends at a CA the store does not hold."""


def product(certificates: tuple[x509.Certificate, ...]) -> str | None:
    """The inspection product an issuer names, if any."""
    for certificate in certificates:
        words = " ".join(str(a.value) for a in certificate.issuer if a.oid in _NAME_OIDS).lower()
        for needle, name in PRODUCTS:
            if needle in words:
                return name
    return None


_NAME_OIDS = (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME)


def signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed(certificate: x509.Certificate) -> bool:
    return signed_by(certificate, certificate)


def aia_urls(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    """(OCSP responder URLs, CA-issuers URLs) from the Authority Information Access."""
    try:
        access = certificate.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        ).value
    except x509.ExtensionNotFound:
        return [], []
    ocsp, issuers = [], []
    for item in access:
        if not isinstance(item.access_location, x509.UniformResourceIdentifier):
            continue
        if item.access_method == AuthorityInformationAccessOID.OCSP:
            ocsp.append(item.access_location.value)
        elif item.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
            issuers.append(item.access_location.value)
    return ocsp, issuers


def anchor_in(
    certificate: x509.Certificate, pool: list[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate in ``pool`` that signed ``certificate``, proven by its signature."""
    return next((c for c in pool if signed_by(certificate, c)), None)


@dataclass(frozen=True)
class HostTrust:
    """Everything judged about one host's chain."""

    host: str
    critical: bool
    capture: Capture
    public: Verification
    workspace: Verification
    login: Verification
    os: Verification | None = None
    kind: str = "public"
    """``public``, ``inspection``, ``private``, ``missing-intermediate``, ``expired``,
    ``not-yet-valid``, ``hostname``, ``self-signed``, ``untrusted`` or ``unreached``."""
    fetched: x509.Certificate | None = None
    """The issuer downloaded from the top certificate's CA-issuers URL, if that was needed."""

    @property
    def accepted_by_both(self) -> bool:
        return self.workspace.accepted is not False and self.login.accepted is not False

    @property
    def rejected_by(self) -> list[str]:
        paths = (("workspace client", self.workspace), ("login client", self.login))
        return [name for name, v in paths if v.accepted is False]


def classify(
    public: Verification, capture: Capture, public_name: bool, fetched: x509.Certificate | None
) -> str:
    """The kind of chain, from certifi's verdict and the signatures in the chain.

    ``public_name``: the host is known to have a publicly issued certificate (allow-list,
    Syntask Cloud), so an unknown CA there is inspection. ``fetched``: the issuer of the top
    certificate, downloaded from its CA-issuers URL, if any.
    """
    if public.accepted is None:
        return "unreached"
    if public.accepted:
        return "public"
    if public.code in FAULTS:
        return FAULTS[public.code]
    if public.code not in UNKNOWN_ISSUER:
        return "untrusted"
    if fetched is not None and capture.certificates:
        top = capture.certificates[-1]
        roots = list(trust.public_roots())
        if signed_by(top, fetched) and anchor_in(fetched, roots) is not None:
            return "missing-intermediate"
    return "inspection" if public_name else "private"


def fetch_issuer(
    certificate: x509.Certificate, proxies: ProxyEnvironment, timeout: float, budget: float
) -> x509.Certificate | None:
    """The issuer of ``certificate`` from its CA-issuers URL, along httpx's route for it."""
    _, urls = aia_urls(certificate)
    for url in urls[:2]:
        if not url.startswith(("http://", "https://")):
            continue
        try:
            probe = fetch(
                lambda: _plain_client(timeout), url, proxies.route(url), timeout, budget=budget
            )
        except (ValueError, httpx.InvalidURL):
            continue
        if probe.answer is None or probe.answer.status != 200:
            continue
        found = parse_der(probe.answer.body) or next(
            iter(trust.load_pem_certificates(probe.answer.body)), None
        )
        if found is not None and signed_by(certificate, found):
            return found
    return None


def _plain_client(timeout: float) -> httpx.Client:
    return httpx.Client(trust_env=True, timeout=httpx.Timeout(timeout), follow_redirects=True)


def _verify_with(ctx: Context, store: Store, url: str, timeout: float) -> Verification:
    if ctx.remaining() < timeout:
        return Verification(None, message="not asked: the run's deadline is too close")
    try:
        context = store.context()
    except (OSError, ValueError) as exc:
        return Verification(None, message=f"its CA source does not load: {exc}")
    return verify(url, context, timeout)


def _stores_judge(ctx: Context, url: str, timeout: float) -> list[Verification]:
    """certifi's, the workspace client's and the login client's verdicts, each asked once."""
    verdicts: dict[tuple[str, str], Verification] = {}
    results = []
    for store in (
        public_store(),
        path_store(trust.workspace_source(ctx.settings), ctx.settings),
        path_store(trust.login_source(ctx.env)),
    ):
        if store.kind == "off":
            results.append(Verification(True, message="verification is switched off"))
            continue
        if store.key not in verdicts:
            verdicts[store.key] = _verify_with(ctx, store, url, timeout)
        results.append(verdicts[store.key])
    return results


def judge(ctx: Context, host: Host, timeout: float, budget: float) -> HostTrust:
    """Capture ``host``'s chain along the client's route and have every store judge it."""
    route = ctx.proxies.route(host.url)
    capture = for_run(ctx).get(
        host.url, lambda: chain_capture(host.url, route, timeout, budget), budget + 1
    )
    if capture is None:
        probe = Probe(host.url, route, (), error="another check's capture did not finish")
        capture = Capture(host.url, probe)
    unreached = Verification(None, message=capture.probe.error or "no TLS chain was presented")
    if not capture.certificates:
        return HostTrust(
            host.name, host.critical, capture, unreached, unreached, unreached, kind="unreached"
        )
    results = _stores_judge(ctx, host.url, timeout)
    found = HostTrust(host.name, host.critical, capture, results[0], results[1], results[2])
    system = os_store()
    if found.rejected_by and system is not None:
        found = replace(found, os=_verify_with(ctx, system, host.url, timeout))
    fetched = None
    top = capture.certificates[-1]
    if found.public.code in (2, 20) and not is_self_signed(top) and ctx.remaining() > timeout:
        fetched = fetch_issuer(top, ctx.proxies, timeout, budget)
    kind = classify(found.public, capture, host.name in PUBLIC_NAMES, fetched)
    return replace(found, kind=kind, fetched=fetched)


PUBLIC_NAMES = frozenset(name for name, _, _ in ALLOW_LIST)
"""Hosts whose real certificates are publicly issued: an unknown CA there is inspection."""
