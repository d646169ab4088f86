"""Certificates for the simulated internet: a root that counts as public for the run, and
a corporate inspection root that does not."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import certifi
import trustme

from .ocsp import Issuer, Leaf


class Pki:
    """The run's roots, the leaf certificates they sign, and the CA bundles built from them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = trustme.CA(organization_name="Simulated Public Root CA")
        self.inspection = trustme.CA(organization_name="Corp TLS Inspection Root")
        self.public_bundle = directory / "public-roots.pem"
        """certifi's roots plus the run's public root: what certifi holds inside the run."""
        self.public_bundle.write_bytes(
            Path(certifi.where()).read_bytes() + self.root.cert_pem.bytes()
        )
        self.inspection_root = directory / "inspection-root.pem"
        self.inspection.cert_pem.write_to_path(str(self.inspection_root))
        self.combined_bundle = directory / "public-and-inspection.pem"
        """The bundle a user behind TLS inspection should point SSL_CERT_FILE at."""
        self.combined_bundle.write_bytes(
            self.public_bundle.read_bytes() + self.inspection.cert_pem.bytes()
        )
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}
        self.issuer = Issuer(self.root.create_child_ca())
        self.leaves: dict[tuple[str, str], Leaf] = {}

    def server_context(self, host: str, *, expired: bool = False) -> ssl.SSLContext:
        """A TLS server context for ``host``: a leaf from the public root's intermediate,
        whose Authority Information Access names the simulated OCSP responder."""
        kind = "expired" if expired else "valid"
        if (host, kind) not in self._contexts:
            now = datetime.datetime.now(datetime.UTC)
            start, end = (
                (now - datetime.timedelta(days=90), now - datetime.timedelta(days=1))
                if expired
                else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=90))
            )
            leaf = self.issuer.issue(host, start, end)
            self.leaves[host, kind] = leaf
            chain = self.directory / f"{host}-{kind}.pem"
            key = self.directory / f"{host}-{kind}.key"
            chain.write_bytes(leaf.chain_pem())
            key.write_bytes(leaf.key_pem())
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(chain, key)
            self._contexts[host, kind] = context
        return self._contexts[host, kind]

    def serial(self, host: str) -> int:
        """The serial number of the valid leaf that ``host`` serves."""
        self.server_context(host)
        return self.leaves[host, "valid"].certificate.serial_number

    def inspection_context(self, host: str) -> ssl.SSLContext:
        """What an inspecting proxy shows for ``host``: a leaf re-signed by the corporate root,
        the root sent along as such proxies do."""
        if (host, "inspected") not in self._contexts:
            leaf = self.inspection.issue_cert(host)
            chain = self.directory / f"inspected-{host}.pem"
            key = self.directory / f"inspected-{host}.key"
            chain.write_bytes(
                b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
                + self.inspection.cert_pem.bytes()
            )
            leaf.private_key_pem.write_to_path(str(key))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(chain, key)
            self._contexts[host, "inspected"] = context
        return self._contexts[host, "inspected"]

    def client_context(self) -> ssl.SSLContext:
        """What the simulated internet's own clients (the inspecting proxy) trust."""
        return ssl.create_default_context(cafile=str(self.public_bundle))
