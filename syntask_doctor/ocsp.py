"""Ask a certificate's OCSP responder about it, and believe only a signed answer.

The request is built with cryptography and POSTed over plain HTTP along httpx's route for
``http://`` URLs (``HTTP_PROXY``, not ``HTTPS_PROXY``). cryptography parses the answer but
does not check its signature: that is done here, against the issuer or a delegated
responder the issuer certified for OCSP signing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from syntask_doctor.explain import cause, describe, proxy_refusal
from syntask_doctor.inspection import signed_by
from syntask_doctor.routes import Route

BODY_LIMIT = 64 * 1024
FUTURE_SLACK = datetime.timedelta(minutes=5)
"""A this-update this far ahead of the local clock is not believed."""


@dataclass(frozen=True)
class Answer:
    """What the responder said, or why there is no verdict."""

    url: str
    route: Route
    status: str | None = None
    """``good``, ``revoked`` or ``unknown``; ``None`` when there is no verdict."""
    problem: str | None = None
    cause: str | None = None
    """``unreachable``, ``http``, ``unsuccessful``, ``unreadable``, ``signature``, ``other``."""
    signer: str | None = None
    this_update: datetime.datetime | None = None
    next_update: datetime.datetime | None = None
    revoked_at: datetime.datetime | None = None
    reason: str | None = None


def request_body(leaf: x509.Certificate, issuer: x509.Certificate) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


def ask(
    url: str, route: Route, leaf: x509.Certificate, issuer: x509.Certificate, timeout: float
) -> Answer:
    """POST a real OCSP request to ``url`` and judge the signed answer."""
    try:
        with (
            httpx.Client(trust_env=True, timeout=httpx.Timeout(timeout)) as client,
            client.stream(
                "POST",
                url,
                content=request_body(leaf, issuer),
                headers={"Content-Type": "application/ocsp-request"},
            ) as response,
        ):
            body = _read(response)
    except Exception as exc:  # noqa: BLE001 - every failure is an answer
        return Answer(url, route, problem=describe(exc, timeout), cause=f"unreachable:{cause(exc)}")
    if route.proxy is not None and response.status_code in (407, 502, 503, 504):
        line = f"{response.status_code} {response.reason_phrase}"
        return Answer(url, route, problem=proxy_refusal(line), cause="unreachable:proxy")
    if response.status_code != 200:
        problem = f"the responder answered HTTP {response.status_code} {response.reason_phrase}"
        return Answer(url, route, problem=problem, cause="http")
    return judge(url, route, body, leaf, issuer)


def _read(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_LIMIT:
            break
    return b"".join(chunks)[:BODY_LIMIT]


def judge(
    url: str, route: Route, body: bytes, leaf: x509.Certificate, issuer: x509.Certificate
) -> Answer:
    try:
        found = ocsp.load_der_ocsp_response(body)
    except ValueError:
        return Answer(url, route, problem="the answer is not an OCSP response", cause="unreadable")
    if found.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        status = found.response_status.name.lower().replace("_", "-")
        problem = f"the responder did not answer: {status}"
        return Answer(url, route, problem=problem, cause="unsuccessful")
    signer = verified_signer(found, issuer)
    if signer is None:
        problem = (
            "the answer's signature does not verify against the issuer or a responder it "
            "certified: something in the way changed it, or the responder is misconfigured"
        )
        return Answer(url, route, problem=problem, cause="signature")
    single = next((r for r in found.responses if r.serial_number == leaf.serial_number), None)
    if single is None:
        problem = "the answer is about another certificate"
        return Answer(url, route, problem=problem, cause="other")
    reason = single.revocation_reason
    return Answer(
        url,
        route,
        status=single.certificate_status.name.lower(),
        signer=signer,
        this_update=single.this_update_utc,
        next_update=single.next_update_utc,
        revoked_at=single.revocation_time_utc,
        reason=reason.name if reason is not None else None,
    )


def verified_signer(found: ocsp.OCSPResponse, issuer: x509.Certificate) -> str | None:
    """Who signed the answer, if its signature verifies: the issuer or its delegate."""
    hash_algorithm = found.signature_hash_algorithm
    if _verifies(issuer.public_key(), found.signature, found.tbs_response_bytes, hash_algorithm):
        return "the issuer"
    for delegate in found.certificates:
        if not (signed_by(delegate, issuer) and _ocsp_signing(delegate)):
            continue
        key = delegate.public_key()
        if _verifies(key, found.signature, found.tbs_response_bytes, hash_algorithm):
            return f"a delegated responder ({delegate.subject.rfc4514_string()})"
    return None


def _ocsp_signing(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in usage


def _verifies(
    key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None
) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def freshness(answer: Answer, now: datetime.datetime) -> str | None:
    """Why the answer cannot be relied on as current, if it cannot."""
    if answer.this_update and answer.this_update > now + FUTURE_SLACK:
        return f"it claims to be from {answer.this_update:%Y-%m-%d %H:%M} UTC, in the future"
    if answer.next_update and answer.next_update < now:
        return f"it is stale: its next update was due {answer.next_update:%Y-%m-%d %H:%M} UTC"
    return None
