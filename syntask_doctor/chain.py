"""Capture the certificate chain a server presents, along the client's own route.

The capture connection does not verify, so the evidence survives when verification fails;
for the same reason it never carries credentials. Verification is a separate handshake per
trust store (``verify``), so each verdict is OpenSSL's own, with its error code.
"""

from __future__ import annotations

import datetime
import ssl
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning

from syntask_doctor.explain import chain as exception_chain
from syntask_doctor.explain import describe
from syntask_doctor.probe import Probe, fetch
from syntask_doctor.routes import Route

_DER = 2
"""``_ssl.ENCODING_DER``: the format asked of ``_ssl.Certificate.public_bytes``."""


@dataclass(frozen=True)
class Capture:
    """What one unverified request to a host saw."""

    url: str
    probe: Probe
    """The request's layers and answer, or where it failed."""
    certificates: tuple[x509.Certificate, ...] = ()
    """As presented, leaf first; empty for ``http://`` or when TLS was not reached."""
    whole_chain: bool = True
    """False when this Python could only read the leaf."""
    alpn: str | None = None
    received: float | None = None
    """``time.time()`` when the response headers arrived."""

    @property
    def date(self) -> str | None:
        answer = self.probe.answer
        return None if answer is None else answer.headers.get("date")

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.certificates[0] if self.certificates else None


@dataclass(frozen=True)
class Verification:
    """One trust store's verdict on a live chain, from a verifying handshake."""

    accepted: bool | None
    """``None`` when the handshake did not get far enough to tell."""
    code: int = 0
    """OpenSSL's verify code (19 self-signed in chain, 20 unknown issuer ...)."""
    message: str = ""


def parse_der(data: bytes) -> x509.Certificate | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError:
            return None


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def _der(item: Any) -> bytes:
    return item if isinstance(item, bytes) else bytes(item.public_bytes(_DER))


def presented(ssl_object: Any) -> tuple[list[bytes], bool]:
    """The DER chain the peer sent: public from Python 3.13, on ``_sslobj`` before it."""
    for target in (ssl_object, getattr(ssl_object, "_sslobj", None)):
        method = getattr(target, "get_unverified_chain", None)
        if callable(method):
            return [_der(item) for item in method() or []], True
    leaf = ssl_object.getpeercert(True)
    return ([leaf] if leaf else []), False


def unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def capture(url: str, route: Route, timeout: float, budget: float) -> Capture:
    """GET ``url`` without verifying, through the proxies the client would use, no credentials."""
    seen: dict[str, Any] = {}

    def keep(response: httpx.Response) -> None:
        seen["received"] = time.time()
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is not None:
            seen["chain"], seen["whole"] = presented(ssl_object)
            seen["alpn"] = ssl_object.selected_alpn_protocol()

    def client() -> httpx.Client:
        return httpx.Client(
            verify=unverified_context(),
            trust_env=True,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            event_hooks={"response": [keep]},
        )

    probe = fetch(client, url, route, timeout, budget=budget)
    parsed = (parse_der(der) for der in seen.get("chain", []))
    return Capture(
        url,
        probe,
        tuple(c for c in parsed if c is not None),
        seen.get("whole", True),
        seen.get("alpn"),
        seen.get("received"),
    )


def verify(url: str, context: ssl.SSLContext, timeout: float) -> Verification:
    """Whether a handshake with ``context`` accepts the chain ``url`` presents today."""
    try:
        with (
            httpx.Client(verify=context, trust_env=True, timeout=httpx.Timeout(timeout)) as client,
            client.stream("GET", url),
        ):
            pass
    except Exception as exc:  # noqa: BLE001 - every failure is an answer
        for link in exception_chain(exc):
            if isinstance(link, ssl.SSLCertVerificationError):
                return Verification(False, link.verify_code, link.verify_message)
        return Verification(None, message=describe(exc, timeout))
    return Verification(True)


class Captures:
    """Captures made during one run: checks that need the same host share one connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Capture]] = {}

    def get(self, url: str, make: Callable[[], Capture], wait: float) -> Capture | None:
        """The capture of ``url``, made once; ``None`` if another check's is still running."""
        with self._lock:
            future = self._futures.get(url)
            owner = future is None
            if future is None:
                future = self._futures[url] = Future()
        if owner:
            try:
                future.set_result(make())
            except BaseException as exc:
                future.set_exception(exc)
                raise
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            return None


_RUNS: dict[int, Captures] = {}
_RUNS_LOCK = threading.Lock()


def for_run(run: object) -> Captures:
    """The captures shared by the checks of one run (keyed by its context object)."""
    with _RUNS_LOCK:
        found = _RUNS.get(id(run))
        if found is None:
            found = _RUNS[id(run)] = Captures()
            weakref.finalize(run, _RUNS.pop, id(run), None)
        return found


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
