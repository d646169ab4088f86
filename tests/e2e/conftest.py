"""Fixtures of the end-to-end tier: a simulated internet per test, removed even when it fails."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from e2e.simnet import Internet, Pki, tun_unavailable, unavailable


@pytest.fixture(scope="session")
def simnet_unavailable() -> str | None:
    return unavailable()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory, simnet_unavailable: str | None) -> Pki:
    if simnet_unavailable:
        pytest.skip(f"end-to-end tier needs network namespaces: {simnet_unavailable}")
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def make_internet(pki: Pki, tmp_path: Path) -> Iterator[Callable[..., Internet]]:
    """Builds simulated internets (``rtt`` in seconds); all are removed after the test."""
    built: list[Internet] = []

    def make(*, rtt: float = 0.0) -> Internet:
        if rtt > 0 and (reason := tun_unavailable()):
            pytest.skip(f"added latency needs TUN devices: {reason}")
        workdir = tmp_path / f"internet-{len(built)}"
        workdir.mkdir()
        built.append(Internet(pki, workdir, rtt=rtt))
        return built[-1]

    try:
        yield make
    finally:
        for internet in built:
            internet.close()


@pytest.fixture
def internet(make_internet: Callable[..., Internet]) -> Internet:
    return make_internet()
