"""Real TLS for tests: a small PKI, sites that serve its chains, and a TLS-inspecting proxy.

``Authority`` makes roots and intermediates with cryptography, so certificates can carry
what trustme does not offer: AIA OCSP and CA-issuers URLs, chosen validity windows, the
OCSP-signing usage. ``InspectingProxy`` is a real CONNECT proxy on loopback that terminates
TLS with a certificate it mints for each host, signed by a corporate root, and opens its own
TLS connection to the real site, as inspection products do.
"""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from proxy_server import LoopbackProxy, _pipe, read_request
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

UTC = datetime.UTC
DAY = datetime.timedelta(days=1)


def now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def _name(common: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organization:
        parts.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


@dataclass
class Issued:
    """A certificate, its key, and the chain a server sends with it (leaf first)."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    def server_context(self, send_chain: bool = True, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
        """A server context presenting the leaf, with (or without) its intermediates."""
        folder = Path(tempfile.mkdtemp(prefix="doctor-tls-"))
        chain = folder / "chain.pem"
        key = folder / "key.pem"
        certs = [self.cert, *self.chain[1:]] if send_chain else [self.cert]
        chain.write_bytes(b"".join(pem(c) for c in certs))
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, key)
        if alpn:
            context.set_alpn_protocols(list(alpn))
        return context


class Authority:
    """A CA: a self-signed root, or an intermediate signed by its parent."""

    def __init__(
        self,
        common: str,
        organization: str | None = None,
        *,
        parent: Authority | None = None,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        ca_issuers: str | None = None,
    ) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(common, organization)
        self.parent = parent
        builder = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(parent.name if parent else self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now() - 30 * DAY)
            .not_valid_after(not_after or now() + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
        )
        if ca_issuers:
            builder = builder.add_extension(_aia(None, ca_issuers), critical=False)
        self.cert = builder.sign(parent.key if parent else self.key, hashes.SHA256())

    @property
    def pem(self) -> bytes:
        return pem(self.cert)

    @property
    def chain(self) -> list[x509.Certificate]:
        """This CA and the CAs above it, up to and including the root."""
        return [self.cert, *(self.parent.chain if self.parent else [])]

    def issue(
        self,
        *names: str,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        ocsp: str | None = None,
        ca_issuers: str | None = None,
        usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
        common: str | None = None,
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common or (names[0] if names else "leaf")))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now() - DAY)
            .not_valid_after(not_after or now() + 90 * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_san(n) for n in names]), critical=False
            )
        if ocsp or ca_issuers:
            builder = builder.add_extension(_aia(ocsp, ca_issuers), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(cert, key, [cert, *self.chain])


def self_signed_leaf(*names: str) -> Issued:
    """A server certificate that signed itself, as appliances ship them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(names[0])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - DAY)
        .not_valid_after(now() + 90 * DAY)
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key, [cert])


def _aia(ocsp: str | None, ca_issuers: str | None) -> x509.AuthorityInformationAccess:
    items = []
    if ocsp:
        items.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp)
            )
        )
    if ca_issuers:
        items.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers)
            )
        )
    return x509.AuthorityInformationAccess(items)


@contextmanager
def site(leaf: Issued, send_chain: bool = True, alpn: tuple[str, ...] = ()) -> Iterator[HTTPServer]:
    """An HTTPS server on loopback presenting ``leaf``; it answers 404 until told otherwise."""
    # Threaded: the doctor judges several hosts at once, some of them on the same server.
    context = leaf.server_context(send_chain, alpn)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


class InspectingProxy(LoopbackProxy):
    """A CONNECT proxy that re-signs every site with ``root`` (TLS inspection).

    ``present``: ``chain`` sends the minted leaf and the corporate root (what most products
    do), ``leaf`` sends the leaf alone. Plain ``http://`` requests are forwarded as they are.
    The upstream connection trusts ``upstream_trust`` (a CA file), as a product trusts the
    public roots.
    """

    def __init__(
        self,
        root: Authority,
        hosts: dict[str, tuple[str, int]],
        upstream_trust: Path,
        present: str = "chain",
        bypass: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(hosts=hosts)
        self.bypass = bypass
        """Hosts tunnelled untouched, as products exempt banking or pinned sites."""
        self.root = root
        self.present = present
        self.upstream = ssl.create_default_context(cafile=str(upstream_trust))
        self._minted: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self.errors: list[str] = []
        """Handshakes that failed, either side: what the doctor's verifying clients refused."""

    def _context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            if host not in self._minted:
                issued = self.root.issue(host)
                self._minted[host] = issued.server_context(
                    self.present == "chain", alpn=("http/1.1",)
                )
            return self._minted[host]

    def _handle(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        method, target, headers, lines, rest = request
        self.log.requests.append((method, target, headers))
        if method != "CONNECT":
            self._forward(conn, method, target, lines, rest)
            return
        host, _, port = target.rpartition(":")
        try:
            raw_upstream = socket.create_connection(self._target(host, int(port)), timeout=5)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if host in self.bypass:
            _pipe(conn, raw_upstream)
            return
        try:
            client = self._context_for(host).wrap_socket(conn, server_side=True)
            upstream = self.upstream.wrap_socket(raw_upstream, server_hostname=host)
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(f"{host}: {exc!r}")
            raw_upstream.close()
            return
        _pipe_tls(client, upstream)


def _pipe_tls(a: ssl.SSLSocket, b: ssl.SSLSocket) -> None:
    """Relay decrypted bytes both ways.

    A readable TLS socket may hold only a record that is not data (a TLS 1.3 session
    ticket), so reads do not block; writes do, with a timeout.
    """
    sockets = [a, b]
    try:
        while True:
            ready = [s for s in sockets if s.pending()]
            if not ready:
                ready, _, _ = select.select(sockets, [], [], 10)
                if not ready:
                    return
            for sock in ready:
                sock.settimeout(0)
                try:
                    data = sock.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                if not data:
                    return
                other = b if sock is a else a
                other.settimeout(10)
                other.sendall(data)
    except OSError:
        return
    finally:
        b.close()


@dataclass
class Pki:
    """A public-like root and intermediate (public once ``public_view`` adds the root to
    certifi's bundle), and a corporate inspection root no bundle holds."""

    public_root: Authority
    public_ca: Authority
    corp_root: Authority


def make_pki(corp_organization: str = "Acme Corp") -> Pki:
    public_root = Authority("Doctor Test Public Root R1", "Doctor Test Trust Services")
    public_ca = Authority(
        "Doctor Test Public CA 1", "Doctor Test Trust Services", parent=public_root
    )
    corp_root = Authority("Corp TLS Inspection Root", corp_organization)
    return Pki(public_root, public_ca, corp_root)


def public_bundle(pki: Pki, folder: Path) -> Path:
    """certifi's roots plus the public-like test root: the doctor's public view in tests."""
    path = folder / "public-roots.pem"
    path.write_bytes(Path(certifi.where()).read_bytes() + pki.public_root.pem)
    return path


ALLOW_LIST_HTTPS = ("app.syntask.cloud", "auth.workos.com", "api.github.com", "github.com")


class World:
    """Loopback stand-ins for every host the doctor contacts, reached through a proxy's map.

    ``cloud`` answers as Syntask Cloud under api.syntask.cloud; ``others`` serves the other
    HTTPS hosts of the allow-list; ``plain`` the plain-http OCSP host. Certificates come
    from the public-like CA unless a test hands in its own leaf.
    """

    def __init__(self, pki: Pki, api_leaf: Issued | None = None, send_chain: bool = True):
        self.pki = pki
        self.api_leaf = api_leaf or pki.public_ca.issue("api.syntask.cloud")
        self.other_leaf = pki.public_ca.issue(*ALLOW_LIST_HTTPS)
        self._stack: list[Any] = []
        self.send_chain = send_chain

    def __enter__(self) -> World:
        self.cloud = self._start(site(self.api_leaf, self.send_chain))
        self.others = self._start(site(self.other_leaf))
        self.plain = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.plain.start()
        self.others.expect_request("/").respond_with_data("ok")
        self.plain.expect_request("/").respond_with_data("ok")
        self.cloud.expect_request("/").respond_with_data("", status=404)
        return self

    def _start(self, manager: Any) -> HTTPServer:
        self._stack.append(manager)
        server: HTTPServer = manager.__enter__()
        return server

    def __exit__(self, *exc: object) -> None:
        for manager in reversed(self._stack):
            manager.__exit__(None, None, None)
        if self.plain.is_running():
            self.plain.stop()

    @property
    def hosts(self) -> dict[str, tuple[str, int]]:
        mapped = {"api.syntask.cloud": ("127.0.0.1", self.cloud.port)}
        mapped.update({name: ("127.0.0.1", self.others.port) for name in ALLOW_LIST_HTTPS})
        mapped["ocsp.pki.goog"] = ("127.0.0.1", self.plain.port)
        return mapped


class Responder:
    """An OCSP responder for pytest-httpserver, built with cryptography.

    ``answer``: ``good``, ``revoked``, ``unknown``, ``bad-signature`` (signed by a key that
    is not the issuer's), ``stale`` (next update in the past), ``try-later`` (unsuccessful),
    or ``delegated`` (good, signed by a responder certificate the issuer made for OCSP).
    """

    def __init__(self, issuer: Authority, leaf: Issued, answer: str = "good") -> None:
        self.issuer = issuer
        self.leaf = leaf
        self.answer = answer
        self.requests: list[ocsp.OCSPRequest] = []

    def __call__(self, request: Request) -> Response:
        asked = ocsp.load_der_ocsp_request(request.get_data())
        self.requests.append(asked)
        if self.answer == "try-later":
            body = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
            return Response(der_of(body), content_type="application/ocsp-response")
        status = {
            "revoked": ocsp.OCSPCertStatus.REVOKED,
            "unknown": ocsp.OCSPCertStatus.UNKNOWN,
        }.get(self.answer, ocsp.OCSPCertStatus.GOOD)
        revoked = self.answer == "revoked"
        this_update = now() - (30 * DAY if self.answer == "stale" else datetime.timedelta(hours=1))
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=self.leaf.cert,
            issuer=self.issuer.cert,
            algorithm=hashes.SHA1(),
            cert_status=status,
            this_update=this_update,
            next_update=this_update + 7 * DAY,
            revocation_time=now() - 2 * DAY if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        key: ec.EllipticCurvePrivateKey = self.issuer.key
        signer = self.issuer.cert
        if self.answer == "delegated":
            delegate = self.issuer.issue(
                common="Doctor Test OCSP Responder", usage=ExtendedKeyUsageOID.OCSP_SIGNING
            )
            key, signer = delegate.key, delegate.cert
            builder = builder.certificates([delegate.cert])
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer)
        body = der_of(builder.sign(key, hashes.SHA256()))
        if self.answer == "bad-signature":
            # The signature is the last field: change its last byte, as a tampering box would.
            body = body[:-1] + bytes([body[-1] ^ 0x01])
        return Response(body, content_type="application/ocsp-response")


def der_of(response: ocsp.OCSPResponse) -> bytes:
    return response.public_bytes(serialization.Encoding.DER)


ACCOUNT = "0f3c1a2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
WORKSPACE = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
CLOUD_WORKSPACE = f"https://api.syntask.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"


def use_public_view(pki: Pki, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The one stand-in of these tests: a public CA cannot sign a loopback server, so
    ``certifi.where`` names certifi's bundle plus the public-like root, for httpx and the
    doctor alike."""
    path = public_bundle(pki, folder)
    monkeypatch.setattr(certifi, "where", lambda: str(path))
    return path


@contextmanager
def cloud(
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
    api_leaf: Issued | None = None,
    send_chain: bool = True,
) -> Iterator[World]:
    """A World whose api.syntask.cloud answers as Syntask Cloud, with the client set to it."""
    with World(pki, api_leaf, send_chain) as world:
        world.cloud.expect_request("/api/me/workspaces").respond_with_json(
            [
                {
                    "account_id": ACCOUNT,
                    "account_name": "Acme",
                    "account_handle": "acme",
                    "workspace_id": WORKSPACE,
                    "workspace_name": "prod",
                    "workspace_handle": "prod",
                    "workspace_description": "",
                }
            ]
        )
        world.cloud.expect_request(
            f"/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}/health"
        ).respond_with_json(True)
        monkeypatch.setenv("SYNTASK_API_URL", CLOUD_WORKSPACE)
        monkeypatch.setenv("SYNTASK_API_KEY", "pnu_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8")
        yield world


def through(monkeypatch: pytest.MonkeyPatch, proxy: LoopbackProxy) -> None:
    """Both proxy variables at ``proxy``: https:// by CONNECT, http:// forwarded."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
