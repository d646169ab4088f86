"""The simulated internet itself: isolated from the machine's network, and removed after use."""

from __future__ import annotations

import datetime
import email.utils
import subprocess
from collections.abc import Callable
from pathlib import Path

import certifi
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from e2e.simnet import Internet

pytestmark = pytest.mark.e2e


def test_client_has_no_route_outside_the_simulated_namespaces(internet: Internet) -> None:
    routes = internet.client.ip("-4", "route", "show").splitlines()

    assert not [line for line in routes if line.startswith("default")], routes
    assert {line.split()[0] for line in routes} == {"10.10.0.1", "198.18.0.0/24"}, routes
    for ns in (internet.client, internet.corp, internet.net):
        devices = ns.ip("-o", "link", "show").split("\n")
        names = {line.split(": ")[1].split("@")[0] for line in devices if line.strip()}
        assert names <= {"lo", "to-client", "to-corp", "to-net"}, names


def test_the_client_sees_the_runs_resolver_and_roots_and_the_machine_keeps_its_own(
    internet: Internet,
) -> None:
    watched = [Path("/etc/resolv.conf"), Path("/etc/hosts"), Path(certifi.where())]
    before = {path: path.read_bytes() for path in watched}

    done = internet.run(
        ["sh", "-c", f"cat /etc/resolv.conf; cat {certifi.where()}"], internet.user_env(), 10
    )

    assert done.stdout.startswith("nameserver 10.10.0.1"), done
    assert done.stdout.endswith(internet.pki.root.cert_pem.bytes().decode())
    assert {path: path.read_bytes() for path in watched} == before


def test_namespaces_are_removed_when_the_internet_closes(
    make_internet: Callable[..., Internet],
) -> None:
    internet = make_internet(rtt=0.05)
    names = {ns.name for ns in (internet.client, internet.corp, internet.net)}

    internet.close()

    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not names & {line.split()[0] for line in listed.stdout.splitlines() if line}


def test_ocsp_responder_named_in_the_served_certificate_answers_good_then_revoked(
    internet: Internet,
) -> None:
    """Server side of the OCSP scenario, checked with openssl on the client: the leaf names
    the responder, which answers for it, signed by the leaf's issuer."""
    root = internet.workdir / "root.pem"
    root.write_bytes(internet.pki.root.cert_pem.bytes())
    issuer = internet.workdir / "issuer.pem"
    issuer.write_bytes(internet.pki.issuer.certificate.public_bytes(Encoding.PEM))
    script = (
        "openssl s_client -connect api.syntask.cloud:443 -servername api.syntask.cloud"
        " </dev/null 2>/dev/null | openssl x509 > leaf.pem"
        ' && url="$(openssl x509 -in leaf.pem -noout -ocsp_uri)" && echo "$url"'
        f' && openssl ocsp -issuer {issuer} -cert leaf.pem -CAfile {root} -url "$url" -no_nonce'
    )

    def status() -> str:
        done = internet.run(["sh", "-c", script], internet.user_env(), 20)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    first = status()
    internet.revoke_certificate("api.syntask.cloud")
    second = status()

    assert first.startswith("http://ocsp.pki.goog/"), first
    assert "Response verify OK" in first, first  # signed by the leaf's issuer
    assert "leaf.pem: good" in first, first
    assert "leaf.pem: revoked" in second, second


def test_clock_skew_moves_the_date_header_of_every_host(internet: Internet) -> None:
    """Server side of the clock-skew scenario, checked with curl on the client."""
    internet.skew_clock(3600)
    bundle = internet.pki.public_bundle
    script = f"curl -sI --cacert {bundle} https://app.syntask.cloud/ | sed -n 's/^Date: //p'"

    done = internet.run(["sh", "-c", script], internet.user_env(), 20)

    served = email.utils.parsedate_to_datetime(done.stdout.strip())
    offset = (served - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert 3500 < offset < 3700, (done.stdout, done.stderr)
