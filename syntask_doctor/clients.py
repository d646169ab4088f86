"""Build httpx clients exactly as the Syntask client's two paths build theirs."""

from __future__ import annotations

import importlib.util
import ssl

import httpx

from syntask_doctor import settings as names
from syntask_doctor import trust
from syntask_doctor.secrets import mask_urls_in
from syntask_doctor.settings import Settings, parse_bool


class ClientSetupError(Exception):
    """The Syntask client would fail before sending any request; the message says why."""


def http2_enabled(settings: Settings) -> bool:
    return parse_bool(settings.get(names.ENABLE_HTTP2)) is True


def workspace_client(settings: Settings, timeout: float) -> httpx.Client:
    """The client behind flows and workers: its own CA setting, proxies from the environment."""
    source = trust.workspace_source(settings)
    try:
        verify: ssl.SSLContext | bool = (
            False if trust.verification_disabled(settings) else trust.ssl_context_for(source)
        )
    except (OSError, ValueError) as exc:
        raise ClientSetupError(
            f"the CA file {source.location} chosen by {source.chosen_by} cannot be loaded: {exc}"
        ) from exc
    http2 = http2_enabled(settings) and importlib.util.find_spec("h2") is not None
    return _client(verify, timeout, http2)


def login_client(env_source: trust.CaSource, timeout: float) -> httpx.Client:
    """The client of ``syntask cloud login``: httpx's own defaults, with trust_env on."""
    try:
        verify = trust.ssl_context_for(env_source)
    except (OSError, ValueError) as exc:
        raise ClientSetupError(
            f"the CA source {env_source.location} chosen by {env_source.chosen_by} cannot be loaded: {exc}"
        ) from exc
    return _client(verify, timeout, False)


def _client(verify: ssl.SSLContext | bool, timeout: float, http2: bool) -> httpx.Client:
    try:
        return httpx.Client(
            verify=verify,
            trust_env=True,
            http2=http2,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
    except (ValueError, ImportError, httpx.InvalidURL) as exc:
        raise ClientSetupError(
            f"httpx refuses to create the client: {type(exc).__name__}: {mask_urls_in(str(exc))}"
        ) from exc
