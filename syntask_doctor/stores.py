"""Trust stores a chain can be verified against: certifi, each client path's, the OS's."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
from cryptography import x509

from syntask_doctor import trust
from syntask_doctor.settings import Settings


@dataclass(frozen=True)
class Store:
    """A set of trusted roots: certifi, a client path's CA source, or the OS store."""

    name: str
    kind: str
    """``certifi``, ``file``, ``dir``, ``os`` or ``off`` (verification switched off)."""
    location: str

    def context(self) -> ssl.SSLContext:
        if self.kind == "dir":
            return ssl.create_default_context(capath=self.location)
        if self.kind == "os":
            cafile, capath = _os_paths()
            return ssl.create_default_context(cafile=cafile, capath=capath)
        return ssl.create_default_context(cafile=self.location)

    @property
    def key(self) -> tuple[str, str]:
        kind = "file" if self.kind == "certifi" else self.kind
        return kind, os.path.realpath(self.location) if kind == "file" else self.location


def public_store() -> Store:
    return Store("public roots (certifi)", "certifi", certifi.where())


def path_store(source: trust.CaSource, settings: Settings | None = None) -> Store:
    if settings is not None and trust.verification_disabled(settings):
        return Store(source.path_name, "off", "verification switched off")
    return Store(source.path_name, source.kind, source.location)


def _os_paths() -> tuple[str | None, str | None]:
    """The OS store as OpenSSL was built to find it, whatever SSL_CERT_* say."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    return cafile, capath


def os_store() -> Store | None:
    cafile, capath = _os_paths()
    if cafile is None and capath is None:
        return None
    shown = " and ".join(p for p in (cafile and os.path.realpath(cafile), capath) if p is not None)
    return Store("OS trust store", "os", shown)


def os_bundle_file() -> str | None:
    """The OS store as one PEM file (it holds the public roots too), when there is one."""
    cafile, _ = _os_paths()
    return os.path.realpath(cafile) if cafile else None


def os_roots() -> list[x509.Certificate]:
    cafile, capath = _os_paths()
    found: list[x509.Certificate] = []
    if cafile:
        found += trust.load_pem_certificates(Path(cafile).read_bytes())
    elif capath:
        for entry in sorted(Path(capath).glob("*.[0-9]")):
            try:
                found += trust.load_pem_certificates(entry.read_bytes())
            except OSError:
                continue
    return found
