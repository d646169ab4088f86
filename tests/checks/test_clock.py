"""clock.skew: local UTC against real ``Date`` headers from loopback servers whose clocks
are set off on purpose (C22)."""

from __future__ import annotations

import datetime
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import everything, run_checks
from proxy_server import LoopbackProxy
from test_probe import closed_port, raw_server, read_head
from tls_fixtures import (
    ALLOW_LIST_HTTPS,
    DAY,
    Pki,
    World,
    cloud,
    now,
    through,
)

from syntask_doctor.model import Result, Status


@contextmanager
def skewed(world: World, seconds: float, *, others: bool = True) -> Iterator[dict[str, Any]]:
    """The hosts' map with servers whose one Date header is ``seconds`` ahead of real time.

    Raw TLS servers: werkzeug always adds a Date of its own, and a real server sends one.
    """

    def answer(conn: socket.socket, _stop: threading.Event) -> None:
        read_head(conn)
        date = format_datetime(now() + datetime.timedelta(seconds=seconds), usegmt=True)
        head = f"HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 0\r\n"
        conn.sendall((head + "Connection: close\r\n\r\n").encode())

    with (
        raw_server(answer, world.api_leaf.server_context()) as api,
        raw_server(answer, world.other_leaf.server_context()) as other,
    ):
        hosts: dict[str, Any] = {**world.hosts, "api.syntask.cloud": ("127.0.0.1", api.port)}
        if others:
            hosts.update({name: ("127.0.0.1", other.port) for name in ALLOW_LIST_HTTPS})
        yield hosts


def clock_with(hosts: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Result]:
    with LoopbackProxy(hosts=hosts) as proxy:
        through(monkeypatch, proxy)
        return run_checks("clock.skew", "tls.interception")


def test_clock_in_step_with_the_servers_passes(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cloud(pki, monkeypatch) as world:
        result = clock_with(world.hosts, monkeypatch)["clock.skew"]
    assert result.status is Status.PASS, everything(result)
    assert "api.syntask.cloud" in result.outcome.summary
    hosts = [r["host"] for r in result.outcome.data["readings"]]
    assert hosts == ["api.syntask.cloud", "app.syntask.cloud"]


def test_c22_two_minutes_off_warns(pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """C22: the servers say it is two and a half minutes later than this machine thinks."""
    with cloud(pki, monkeypatch) as world, skewed(world, 150) as hosts:
        result = clock_with(hosts, monkeypatch)["clock.skew"]
    assert result.status is Status.WARN, everything(result)
    assert result.outcome.summary.startswith("This machine's clock is 2 min")
    assert "behind api.syntask.cloud" in result.outcome.summary or "behind app" in (
        result.outcome.summary
    )
    assert "timedatectl set-ntp true" in (result.outcome.remedy or "")
    assert -152 < result.outcome.data["offset_seconds"] < -148


def test_c22_years_off_fails_and_tls_errors_point_at_the_clock(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C22: the servers live three years ahead of this machine, and so do their
    certificates: to this machine they are 'not yet valid'. The clock is the one failure;
    the certificate verdict waits for it."""
    later = 3 * 365 * DAY + 2 * DAY
    leaf = pki.public_ca.issue(
        "api.syntask.cloud", not_before=now() + later - 30 * DAY, not_after=now() + later + DAY
    )
    with (
        cloud(pki, monkeypatch, api_leaf=leaf) as world,
        skewed(world, later.total_seconds()) as hosts,
    ):
        results = clock_with(hosts, monkeypatch)
    result = results["clock.skew"]
    assert result.status is Status.FAIL, everything(result)
    assert result.outcome.summary.startswith("This machine's clock is 3 years")
    assert "a certificate is 'not yet valid' come from this clock" in result.outcome.summary
    assert results["tls.interception"].status is Status.SKIP


def test_one_server_with_a_wrong_clock_does_not_condemn_this_machine(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cloud(pki, monkeypatch) as world, skewed(world, 3600, others=False) as hosts:
        result = clock_with(hosts, monkeypatch)["clock.skew"]
    assert result.status is Status.PASS, everything(result)
    assert "app.syntask.cloud" in result.outcome.summary
    assert "the servers disagree with each other" in everything(result)


def test_no_host_answering_warns_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", f"http://127.0.0.1:{closed_port()}/api")
    with LoopbackProxy(hosts={"api.syntask.cloud": ("127.0.0.1", closed_port())}) as proxy:
        through(monkeypatch, proxy)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        result = run_checks("clock.skew")["clock.skew"]
    assert result.status is Status.WARN, everything(result)
    assert result.outcome.summary.startswith("The clock could not be compared")
    assert "connection refused" in everything(result)
