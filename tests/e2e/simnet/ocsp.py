"""Leaf certificates that name an OCSP responder, and the responder that vouches for them.

trustme issues leaves without an Authority Information Access extension, so leaves for
the simulated hosts are built here with cryptography, signed by an intermediate of the
run's public root, which servers send along and which signs the OCSP answers, as public
CAs do.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from .web import Request, Response

OCSP_URL = "http://ocsp.pki.goog/s/sim1/"
"""Where the leaves say their status is served; a path as real responders use."""


@dataclass(frozen=True)
class Leaf:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    issuer: x509.Certificate

    def chain_pem(self) -> bytes:
        """The leaf, then its issuing intermediate: what a server presents."""
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (self.certificate, self.issuer)
        )

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


class Issuer:
    """An intermediate CA as the signer of leaves and of OCSP answers about them."""

    def __init__(self, ca: trustme.CA) -> None:
        self.certificate = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
        key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.key = key

    def issue(self, host: str, not_before: datetime.datetime, not_after: datetime.datetime) -> Leaf:
        key = ec.generate_private_key(ec.SECP256R1())
        ocsp_access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(OCSP_URL)
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityInformationAccess([ocsp_access]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        return Leaf(certificate, key, self.certificate)

    def respond(self, request: Request, revoked: set[int]) -> Response | None:
        """An OCSP answer for a POSTed request (``revoked`` holds the serial numbers to
        report revoked), or ``None`` when this is no OCSP request."""
        if request.method != "POST" or "ocsp-request" not in request.headers.get(
            "content-type", ""
        ):
            return None
        try:
            asked = ocsp.load_der_ocsp_request(request.body)
        except ValueError:
            return _ocsp(
                ocsp.OCSPResponseBuilder.build_unsuccessful(
                    ocsp.OCSPResponseStatus.MALFORMED_REQUEST
                )
            )
        now = datetime.datetime.now(datetime.UTC)
        is_revoked = asked.serial_number in revoked
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=asked.issuer_name_hash,
                issuer_key_hash=asked.issuer_key_hash,
                serial_number=asked.serial_number,
                algorithm=asked.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.REVOKED if is_revoked else ocsp.OCSPCertStatus.GOOD,
                this_update=now - datetime.timedelta(minutes=5),
                next_update=now + datetime.timedelta(days=3),
                revocation_time=now - datetime.timedelta(days=1) if is_revoked else None,
                revocation_reason=x509.ReasonFlags.key_compromise if is_revoked else None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.certificate)
        )
        return _ocsp(builder.sign(self.key, hashes.SHA256()))


def _ocsp(answer: ocsp.OCSPResponse) -> Response:
    return Response(
        200, answer.public_bytes(serialization.Encoding.DER), "application/ocsp-response"
    )
