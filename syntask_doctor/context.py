"""What every check receives: the resolved settings, the run's limits and earlier results."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from syntask_doctor.hosts import Host, hosts_for
from syntask_doctor.model import Result
from syntask_doctor.probe import Resolver, resolve
from syntask_doctor.routes import ProxyEnvironment, proxy_environment
from syntask_doctor.settings import Settings


@dataclass
class Context:
    """Shared, read-mostly state of one run. Checks read it; only the runner writes results."""

    settings: Settings
    timeout: float
    """Limit for each network step, in seconds."""
    deadline: float
    """``time.monotonic()`` value by which the whole run must end."""
    offline: bool = False
    results: dict[str, Result] = field(default_factory=dict)
    nameservers: tuple[str, ...] | None = None
    """DNS servers the DNS checks ask (``address`` or ``address:port``); ``None``: the
    system's own, from ``/etc/resolv.conf``."""
    system_resolver: Resolver = resolve
    """``getaddrinfo`` as the client calls it (it honours ``/etc/hosts``)."""
    skipped: frozenset[str] = frozenset()
    """Ids of checks the user skipped (``--skip``)."""

    @property
    def env(self) -> Mapping[str, str]:
        return self.settings.env

    @cached_property
    def proxies(self) -> ProxyEnvironment:
        return proxy_environment(self.env)

    @cached_property
    def hosts(self) -> tuple[Host, ...]:
        return hosts_for(self.settings)

    @property
    def hosts_in_run(self) -> tuple[Host, ...]:
        """The hosts not skipped: ``--skip host.X`` keeps every check away from X."""
        return tuple(h for h in self.hosts if h.check_id not in self.skipped)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def step_timeout(self) -> float:
        """The timeout for the next network step: ``--timeout``, cut by the run deadline."""
        return max(0.1, min(self.timeout, self.remaining()))

    def result(self, check_id: str) -> Result | None:
        return self.results.get(check_id)
