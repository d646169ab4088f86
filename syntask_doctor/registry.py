"""The one place checks are registered: built-in families and third-party entry points."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

from syntask_doctor.model import Outcome

if TYPE_CHECKING:
    from syntask_doctor.context import Context
    from syntask_doctor.settings import Settings

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "syntask_doctor.checks"

BUILTIN_FAMILIES = (
    "syntask_doctor.checks.settings",
    "syntask_doctor.checks.proxy",
    "syntask_doctor.checks.proxy_connect",
    "syntask_doctor.checks.clock",
    "syntask_doctor.checks.trust",
    "syntask_doctor.checks.interception",
    "syntask_doctor.checks.ocsp",
    "syntask_doctor.checks.http2",
    "syntask_doctor.checks.dns",
    "syntask_doctor.checks.hosts",
    "syntask_doctor.checks.api",
    "syntask_doctor.checks.websocket",
)
"""Modules whose import registers the built-in checks, in report order."""


@dataclass(frozen=True)
class Check:
    """A check's contract: a stable id, a title, what it needs first, and one function."""

    id: str
    title: str
    run: Callable[[Context], Outcome]
    depends_on: tuple[str, ...] = ()
    network: bool = False
    """Network checks are skipped by ``--offline``."""

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


Provider = Callable[["Settings"], Iterable[Check]]
"""Makes checks whose ids depend on the settings, such as one per host."""


class Registry:
    """Checks and providers in registration order."""

    def __init__(self) -> None:
        self._providers: list[Provider] = []

    def add(self, item: Check | Provider) -> None:
        self._providers.append(_single(item) if isinstance(item, Check) else item)

    def checks(self, settings: Settings) -> list[Check]:
        found: dict[str, Check] = {}
        for provider in self._providers:
            for item in provider(settings):
                if item.id in found:
                    raise ValueError(f"two checks share the id {item.id!r}")
                found[item.id] = item
        return list(found.values())


def _single(item: Check) -> Provider:
    def provide(_settings: Settings) -> tuple[Check]:
        return (item,)

    return provide


REGISTRY = Registry()


def check(
    id: str, title: str, depends_on: tuple[str, ...] = (), network: bool = False
) -> Callable[[Callable[[Context], Outcome]], Callable[[Context], Outcome]]:
    """Register the decorated function as a check in the built-in registry."""

    def register(function: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        REGISTRY.add(Check(id, title, function, depends_on, network))
        return function

    return register


def provider(function: Provider) -> Provider:
    """Register the decorated function as a provider of checks."""
    REGISTRY.add(function)
    return function


def load() -> Registry:
    """Import the built-in families, then every plugin of the entry-point group."""
    for module in BUILTIN_FAMILIES:
        importlib.import_module(module)
    registry = Registry()
    registry._providers.extend(REGISTRY._providers)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        registry.add(_plugin(entry.name, entry.value, entry.load))
    return registry


def _plugin(name: str, target: str, loader: Callable[[], object]) -> Check | Provider:
    """A plugin's check or provider; one that fails to load becomes a check that reports it."""
    try:
        loaded = loader()
    except Exception as exc:
        logger.debug("plugin %s (%s) failed to load", name, target, exc_info=True)
        error = exc

        def broken(_ctx: Context) -> Outcome:
            raise RuntimeError(f"plugin {name!r} ({target}) failed to load: {error!r}") from error

        return Check(f"plugin.{name}", f"Plugin {name}", broken)
    if isinstance(loaded, Check):
        return loaded
    if callable(loaded):
        return cast(Provider, loaded)
    message = f"plugin {name!r} ({target}) is neither a Check nor a provider"

    def invalid(_ctx: Context) -> Outcome:
        raise TypeError(message)

    return Check(f"plugin.{name}", f"Plugin {name}", invalid)
