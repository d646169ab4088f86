"""Which CA certificates each Syntask client path trusts, and whether that source works.

Two paths, two rules. The workspace client (flows, workers) loads
``SYNTASK_API_SSL_CERT_FILE`` (default: ``SSL_CERT_FILE``), else certifi, and never
``SSL_CERT_DIR``. The login client (``syntask cloud login``, workspace listing) follows
httpx: ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi. Neither reads the OS store,
``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import shlex
import ssl
import stat
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

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)
_HASH_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")

BUNDLE = "~/syntask-ca-bundle.pem"
"""Where the doctor proposes to write a combined bundle."""


@dataclass(frozen=True)
class CaSource:
    """Where one client path gets its trusted roots."""

    path_name: str
    """``workspace client`` or ``login client``."""
    kind: str
    """``file``, ``dir`` or ``certifi``."""
    location: str
    chosen_by: str
    """The variable that chose it, or ``default``."""
    reason: str


@dataclass(frozen=True)
class CaFileState:
    """What is wrong with a CA file, if anything, and what it holds."""

    path: str
    problem: str | None
    """Why the client cannot load it, in plain words; ``None`` when it loads."""
    certificates: int = 0
    expired: tuple[str, ...] = ()
    """Subjects and end dates of certificates past their end date."""
    public_roots: int = 0
    """How many of its certificates are also in certifi's public bundle."""
    raises: str | None = None
    """The exception the client raises loading it (``FileNotFoundError``, ``SSLError`` ...)."""
    not_yet_valid: tuple[str, ...] = ()
    authorities: int = 0
    """How many of its certificates are CA certificates, able to anchor a chain."""


def workspace_source(settings: Settings) -> CaSource:
    """The CA source of the workspace client: its own setting, else SSL_CERT_FILE, else certifi."""
    value = settings.get(names.SSL_CERT_FILE)
    origin = settings.source_of(names.SSL_CERT_FILE)
    never = "SSL_CERT_DIR and the OS trust store are never read by this path"
    if origin == "defaults":
        if value:
            why = f"{names.SSL_CERT_FILE} is not set, so it takes SSL_CERT_FILE"
            return CaSource(WORKSPACE, "file", value, "SSL_CERT_FILE", why)
        why = f"neither {names.SSL_CERT_FILE} nor SSL_CERT_FILE is set; {never}"
        return CaSource(WORKSPACE, "certifi", certifi.where(), "default", why)
    if value:
        why = f"{names.SSL_CERT_FILE} is set (from {origin}); SSL_CERT_FILE is not consulted"
        return CaSource(WORKSPACE, "file", value, names.SSL_CERT_FILE, why)
    why = (
        f"{names.SSL_CERT_FILE} is set but empty (from {origin}), which hides SSL_CERT_FILE; "
        "an empty value means certifi"
    )
    return CaSource(WORKSPACE, "certifi", certifi.where(), names.SSL_CERT_FILE, why)


def login_source(env: Mapping[str, str]) -> CaSource:
    """The CA source of the login client: httpx's own rule over the environment."""
    if env.get("SSL_CERT_FILE"):
        why = "SSL_CERT_FILE is set, and httpx reads it first"
        return CaSource(LOGIN, "file", env["SSL_CERT_FILE"], "SSL_CERT_FILE", why)
    if env.get("SSL_CERT_DIR"):
        why = "SSL_CERT_DIR is set and SSL_CERT_FILE is not"
        return CaSource(LOGIN, "dir", env["SSL_CERT_DIR"], "SSL_CERT_DIR", why)
    why = "neither SSL_CERT_FILE nor SSL_CERT_DIR is set"
    return CaSource(LOGIN, "certifi", certifi.where(), "default", why)


def combine_command(*files: str, folder: str | None = None) -> str:
    """A shell line that writes certifi's public roots plus ``files`` (or every ``.pem`` in
    ``folder``) into one bundle, and points SSL_CERT_FILE at it."""
    parts = [shlex.quote(item) for item in files]
    if folder is not None:
        parts.append(f"{shlex.quote(folder)}/*.pem")
    return (
        f'cat "$(python -m certifi)" {" ".join(parts)} > {BUNDLE} && export SSL_CERT_FILE={BUNDLE}'
    )


def verification_disabled(settings: Settings) -> bool:
    return parse_bool(settings.get(names.TLS_INSECURE)) is True


def inspect_file(path: str, now: datetime.datetime | None = None) -> CaFileState:
    """Say what the client will find in a CA file: the error it raises, or the roots.

    OpenSSL decides (the same ``ssl.create_default_context(cafile=...)`` call the client
    makes); the file is then read only to explain its answer and count what it holds.
    """
    unusual = _not_a_file(path)
    if unusual:
        return CaFileState(path, unusual, raises="OSError")
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        return CaFileState(path, _refusal(path, exc), raises=type(exc).__name__)
    except OSError as exc:
        return CaFileState(path, _os_problem(path, exc), raises=type(exc).__name__)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:  # vanished or changed between the two reads
        return CaFileState(path, _os_problem(path, exc), raises=type(exc).__name__)
    return _contents(path, data, now or datetime.datetime.now(datetime.UTC))


MAX_CA_FILE_BYTES = 64 * 1024 * 1024


def _not_a_file(path: str) -> str | None:
    """A device, a pipe or a huge file would make OpenSSL read forever or block: refuse first."""
    try:
        info = os.stat(path)
    except OSError:
        return None  # OpenSSL's own error says it, as the client would see it
    if stat.S_ISDIR(info.st_mode):
        return None
    if not stat.S_ISREG(info.st_mode):
        return "this is not a regular file (a device or a pipe): the client would hang reading it"
    if info.st_size > MAX_CA_FILE_BYTES:
        return f"the file is {info.st_size // 1024 // 1024} MB: far too large for a CA bundle"
    return None


def _os_problem(path: str, exc: OSError) -> str:
    what = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError):
        if path != path.strip():
            return f"no such file: the value has leading or trailing whitespace ({path!r})"
        if path.startswith("~"):
            return (
                f"no such file: '~' is not expanded here, write the full path "
                f"{os.path.expanduser(path)}"
            )
        if os.path.islink(path):
            return f"it is a symbolic link to {os.readlink(path)}, which does not exist"
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory, not a file"
    return f"the file cannot be read: {what}"


def _refusal(path: str, exc: ssl.SSLError) -> str:
    """Why OpenSSL refused a readable file, from what the file holds."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    if not data.strip():
        return "the file is empty (OpenSSL: no certificate found)"
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return _what_instead(data)
    blocks = data.count(b"-----BEGIN CERTIFICATE-----")
    damaged = _first_damaged_block(data)
    where = f"certificate {damaged} of {blocks}" if damaged else "a certificate block"
    return f"{where} is damaged or cut short (OpenSSL: {exc.reason or exc})"


def _what_instead(data: bytes) -> str:
    if data[:1] == b"\x30":
        return (
            "it looks like a binary DER certificate, not PEM text; convert it with "
            "`openssl x509 -inform der -in FILE -out FILE.pem`"
        )
    if b"\x00" in data or not _is_text(data):
        return "it is binary data, not PEM text"
    if b"PRIVATE KEY-----" in data:
        return "it holds a private key, not a certificate"
    return "it holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' line)"


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _first_damaged_block(data: bytes) -> int | None:
    starts = [m.start() for m in re.finditer(rb"-----BEGIN CERTIFICATE-----", data)]
    for number, start in enumerate(starts, 1):
        block = _PEM_BLOCK.match(data, start)
        if block is None or _parse(block.group()) is None:
            return number
    return None


def _contents(path: str, data: bytes, now: datetime.datetime) -> CaFileState:
    certificates = [c for c in (_parse(b.group()) for b in _PEM_BLOCK.finditer(data)) if c]
    expired = tuple(
        f"{c.subject.rfc4514_string()} (expired {c.not_valid_after_utc:%Y-%m-%d})"
        for c in certificates
        if c.not_valid_after_utc < now
    )
    early = tuple(
        f"{c.subject.rfc4514_string()} (valid from {c.not_valid_before_utc:%Y-%m-%d})"
        for c in certificates
        if c.not_valid_before_utc > now
    )
    public = _certifi_fingerprints()
    shared = sum(1 for c in certificates if c.fingerprint(hashes.SHA256()) in public)
    authorities = sum(1 for c in certificates if _is_authority(c))
    return CaFileState(
        path,
        None,
        len(certificates),
        expired,
        shared,
        raises=None,
        not_yet_valid=early,
        authorities=authorities,
    )


def _parse(block: bytes) -> x509.Certificate | None:
    # Some public roots have a non-positive serial; cryptography warns on each, and the
    # warning says nothing a user of the doctor can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            return x509.load_pem_x509_certificate(block)
        except ValueError:
            return None


def _is_authority(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        # Old self-signed roots carry no extensions at all; OpenSSL accepts them as anchors.
        return certificate.issuer == certificate.subject
    return constraints.value.ca


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle that parses; damaged blocks are left out."""
    parsed = (_parse(block.group()) for block in _PEM_BLOCK.finditer(data))
    return [cert for cert in parsed if cert is not None]


def public_roots() -> tuple[x509.Certificate, ...]:
    """certifi's roots: the public view every verdict starts from."""
    return _bundle(certifi.where())


@functools.cache
def _bundle(path: str) -> tuple[x509.Certificate, ...]:
    # Keyed by path: the bundle a name points at does not change during a run.
    try:
        return tuple(load_pem_certificates(Path(path).read_bytes()))
    except OSError:
        return ()


def _certifi_fingerprints() -> frozenset[bytes]:
    return frozenset(cert.fingerprint(hashes.SHA256()) for cert in public_roots())


def inspect_dir(path: str) -> str | None:
    """Problems with an ``SSL_CERT_DIR``: OpenSSL accepts any folder and fails at handshakes."""
    folder = Path(path)
    if not folder.exists():
        return "the folder does not exist"
    if not folder.is_dir():
        return "this is a file, not a folder (a bundle file belongs in SSL_CERT_FILE)"
    try:
        names_in = [p.name for p in folder.iterdir()]
    except OSError as exc:
        return f"the folder cannot be read: {exc.strerror}"
    if any(_HASH_NAME.match(name) for name in names_in):
        return None
    if not names_in:
        return "the folder is empty"
    return (
        "the folder holds no hashed certificate names (such as 1a2b3c4d.0), which is how "
        f"OpenSSL finds certificates in it: run `openssl rehash {path}`"
    )


def ssl_context_for(source: CaSource) -> ssl.SSLContext:
    """The verifying context a client path builds from its CA source."""
    if source.kind == "dir":
        return ssl.create_default_context(capath=source.location)
    return ssl.create_default_context(cafile=source.location)
