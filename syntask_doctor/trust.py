"""Which CA certificates each Syntask client path trusts, and whether that source works.

Two paths, two rules. The workspace client (flows, workers) loads
``SYNTASK_API_SSL_CERT_FILE`` (default: ``SSL_CERT_FILE``), else certifi, and never
``SSL_CERT_DIR``. The login client (``syntask cloud login``, workspace listing) follows
httpx: ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi.
"""

from __future__ import annotations

import datetime
import functools
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning

from syntask_doctor import settings as names
from syntask_doctor.settings import Settings, parse_bool

WORKSPACE = "workspace client"
LOGIN = "login client"


@dataclass(frozen=True)
class CaSource:
    """Where one client path gets its trusted roots."""

    path_name: str
    """``workspace client`` or ``login client``."""
    kind: str
    """``file``, ``dir`` or ``certifi``."""
    location: str
    chosen_by: str
    """The variable or setting that chose it, or ``default``."""
    reason: str


@dataclass(frozen=True)
class CaFileState:
    """What is wrong with a CA file, if anything, and what it holds."""

    path: str
    problem: str | None
    certificates: int = 0
    expired: tuple[str, ...] = ()
    public_roots: int = 0
    """How many of its certificates are also in certifi's public bundle."""


def workspace_source(settings: Settings) -> CaSource:
    value = settings.get(names.SSL_CERT_FILE)
    origin = settings.source_of(names.SSL_CERT_FILE)
    if value:
        chosen = names.SSL_CERT_FILE if origin != "defaults" else "SSL_CERT_FILE"
        why = (
            f"{names.SSL_CERT_FILE} is set (from {origin})"
            if origin != "defaults"
            else f"{names.SSL_CERT_FILE} is unset, so it defaults to SSL_CERT_FILE"
        )
        return CaSource(WORKSPACE, "file", value, chosen, why)
    return CaSource(
        WORKSPACE,
        "certifi",
        certifi.where(),
        "default",
        f"neither {names.SSL_CERT_FILE} nor SSL_CERT_FILE is set; SSL_CERT_DIR is never read here",
    )


def login_source(env: Mapping[str, str]) -> CaSource:
    if env.get("SSL_CERT_FILE"):
        return CaSource(
            LOGIN, "file", env["SSL_CERT_FILE"], "SSL_CERT_FILE", "SSL_CERT_FILE is set"
        )
    if env.get("SSL_CERT_DIR"):
        return CaSource(
            LOGIN,
            "dir",
            env["SSL_CERT_DIR"],
            "SSL_CERT_DIR",
            "SSL_CERT_DIR is set and SSL_CERT_FILE is not",
        )
    return CaSource(
        LOGIN,
        "certifi",
        certifi.where(),
        "default",
        "neither SSL_CERT_FILE nor SSL_CERT_DIR is set",
    )


def verification_disabled(settings: Settings) -> bool:
    return parse_bool(settings.get(names.TLS_INSECURE)) is True


def inspect_file(path: str, now: datetime.datetime | None = None) -> CaFileState:
    """Say what the client will find in a CA file: the error it raises, or the roots."""
    candidate = Path(path).expanduser()
    if not candidate.exists():
        return CaFileState(path, "the file does not exist")
    if candidate.is_dir():
        return CaFileState(path, "this is a directory, not a file")
    try:
        data = candidate.read_bytes()
    except OSError as exc:
        return CaFileState(path, f"the file cannot be read: {exc.strerror}")
    if not data.strip():
        return CaFileState(path, "the file is empty")
    try:
        certificates = _load_pem(data)
    except ValueError:
        return CaFileState(path, "the file holds no PEM certificate")
    try:
        ssl.create_default_context(cafile=str(candidate))
    except ssl.SSLError as exc:
        return CaFileState(path, f"OpenSSL refuses it: {exc.reason or exc}")
    now = now or datetime.datetime.now(datetime.UTC)
    expired = tuple(
        cert.subject.rfc4514_string() for cert in certificates if cert.not_valid_after_utc < now
    )
    public = _certifi_fingerprints()
    shared = sum(1 for cert in certificates if cert.fingerprint(hashes.SHA256()) in public)
    return CaFileState(path, None, len(certificates), expired, shared)


def _load_pem(data: bytes) -> list[x509.Certificate]:
    # Some public roots have a non-positive serial; cryptography warns on each, and the
    # warning says nothing a user of the doctor can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_pem_x509_certificates(data)


@functools.cache
def _certifi_fingerprints() -> frozenset[bytes]:
    roots = _load_pem(Path(certifi.where()).read_bytes())
    return frozenset(cert.fingerprint(hashes.SHA256()) for cert in roots)


def inspect_dir(path: str) -> str | None:
    """Problems with an ``SSL_CERT_DIR``; OpenSSL accepts any folder and fails later."""
    folder = Path(path).expanduser()
    if not folder.exists():
        return "the folder does not exist"
    if not folder.is_dir():
        return "this is not a folder"
    hashed = [p for p in folder.iterdir() if len(p.name) == 10 and p.name[8] == "."]
    if not hashed:
        return "the folder holds no hashed certificate links (run `openssl rehash` on it)"
    return None


def ssl_context_for(source: CaSource) -> ssl.SSLContext:
    """The verifying context a client path builds from its CA source."""
    if source.kind == "dir":
        return ssl.create_default_context(capath=source.location)
    return ssl.create_default_context(cafile=source.location)
