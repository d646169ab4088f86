"""The simulated internet itself: isolated from the machine's network, and removed after use."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import certifi
import pytest
from simnet import Internet

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
