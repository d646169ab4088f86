"""Build httpx clients exactly as the Syntask client's two paths build theirs.

Both read proxies from the environment (``trust_env``) and never follow redirects, so a
probe sees the redirect itself. Anything that makes the real client fail at creation
(a CA file that does not load, a proxy URL httpx refuses, HTTP/2 without ``h2``) raises
``ClientSetupError`` here too, with the reason in words.
"""

from __future__ import annotations

import ssl

import httpx

from syntask_doctor import trust
from syntask_doctor.secrets import mask_urls_in
from syntask_doctor.settings import ENABLE_HTTP2, Settings, parse_bool


class ClientSetupError(Exception):
    """The Syntask client would fail before sending any request; the message says why."""


def http2_enabled(settings: Settings) -> bool:
    return parse_bool(settings.get(ENABLE_HTTP2)) is True


def workspace_client(settings: Settings, timeout: float) -> httpx.Client:
    """The client behind flows and workers: its own CA setting, proxies from the environment."""
    if trust.verification_disabled(settings):
        return _client(False, timeout, http2_enabled(settings))
    source = trust.workspace_source(settings)
    return _client(_context(source), timeout, http2_enabled(settings))


def login_client(env_source: trust.CaSource, timeout: float) -> httpx.Client:
    """The client of ``syntask cloud login``: httpx's own defaults, with trust_env on."""
    return _client(_context(env_source), timeout, False)


def _context(source: trust.CaSource) -> ssl.SSLContext:
    try:
        return trust.ssl_context_for(source)
    except (OSError, ValueError) as exc:
        problem = trust.inspect_file(source.location).problem if source.kind == "file" else None
        raise ClientSetupError(
            f"the {source.path_name} cannot load the CA {source.kind} {source.location}"
            f" chosen by {source.chosen_by}: {problem or exc}"
        ) from exc


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
