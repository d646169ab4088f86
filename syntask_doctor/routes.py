"""Which proxy, if any, httpx uses for a URL, and why: a model of httpx's own rules.

httpx (``trust_env=True``) reads proxies through ``urllib.request.getproxies()``, keeps
``http``, ``https``, ``all`` and ``no``, turns each into a mount pattern and uses the most
specific pattern that matches. This module repeats those rules (httpx 0.28.1) so that it can
say which variable and which ``NO_PROXY`` entry decided; the tests hold it to httpx's real
decision, environment by environment.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from syntask_doctor.api_url import is_loopback
from syntask_doctor.no_proxy import NoProxyEntry, entries, meant_for, miss_reason, mount_key
from syntask_doctor.secrets import mask_url, mask_urls_in

SCHEMES = ("http", "https", "all")
ALLOWED_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
HTTPX_VERSION = "0.28.1"
"""The httpx release whose rules this module repeats."""
_MASK = "****"


def mask_proxy(value: str) -> str:
    """A proxy value safe to show, with or without a scheme."""
    return mask_url(value)


@dataclass(frozen=True)
class ProxyVariable:
    """One ``*_proxy`` variable of the environment and whether httpx uses it."""

    name: str
    value: str
    role: str
    """``http``, ``https``, ``all`` or ``no``; anything else httpx ignores."""
    used: bool
    note: str


@dataclass(frozen=True)
class Route:
    """How httpx reaches one URL."""

    url: str
    proxy: str | None
    """The proxy URL as httpx will use it (credentials included: display through ``shown``)."""
    variable: str | None
    """The environment variable (or ``NO_PROXY`` entry) that decided."""
    reason: str
    missed: tuple[NoProxyEntry, ...] = ()
    """``NO_PROXY`` entries that look meant for this URL but do not match it."""

    @property
    def shown(self) -> str:
        return "direct" if self.proxy is None else f"proxy {mask_proxy(self.proxy)}"


@dataclass(frozen=True)
class SetupError:
    """An error httpx raises while creating any client in this environment."""

    source: str
    """The variable, or ``NO_PROXY entry '...'``, at fault."""
    exception: str
    """The exception class httpx raises: ``ValueError``, ``InvalidURL`` or ``ImportError``."""
    message: str
    """httpx's message with every password hidden."""


@dataclass(frozen=True)
class _Pattern:
    """httpx's URLPattern, with the proxy it leads to and the entry it came from."""

    text: str
    scheme: str
    host: str
    port: int | None
    regex: re.Pattern[str] | None
    proxy: str | None
    origin: str

    @classmethod
    def parse(cls, text: str, proxy: str | None, origin: str) -> _Pattern:
        url = httpx.URL(text)
        host = "" if url.host == "*" else url.host
        regex: re.Pattern[str] | None
        if not url.host or url.host == "*":
            regex = None
        elif url.host.startswith("*."):
            regex = re.compile(rf"^.+\.{re.escape(url.host[2:])}$")
        elif url.host.startswith("*"):
            regex = re.compile(rf"^(.+\.)?{re.escape(url.host[1:])}$")
        else:
            regex = re.compile(rf"^{re.escape(url.host)}$")
        scheme = "" if url.scheme == "all" else url.scheme
        return cls(text, scheme, host, url.port, regex, proxy, origin)

    def matches(self, url: httpx.URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.host and self.regex is not None and not self.regex.match(url.host):
            return False
        return self.port is None or self.port == url.port

    @property
    def priority(self) -> tuple[int, int, int]:
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))


def proxy_host(proxy: str) -> str | None:
    """The proxy's host, or ``None`` for a value httpx cannot parse (``setup_errors`` says)."""
    try:
        return httpx.URL(proxy).host
    except (httpx.InvalidURL, ValueError):
        return None


def read_proxy_variables(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``urllib.request.getproxies_environment`` over a mapping: role -> (value, variable)."""
    found: dict[str, tuple[str, str]] = {}
    for name, value in env.items():
        if value and name.lower().endswith("_proxy"):
            found[name.lower()[:-6]] = (value, name)
    if "REQUEST_METHOD" in env:
        found.pop("http", None)
    for name, value in env.items():
        if name.endswith("_proxy"):
            if value:
                found[name.lower()[:-6]] = (value, name)
            else:
                found.pop(name.lower()[:-6], None)
    if not found and sys.platform in ("darwin", "win32"):
        found = {k: (v, "OS proxy settings") for k, v in urllib.request.getproxies().items()}
    return found


def with_scheme(value: str) -> str:
    """httpx's own completion of a proxy value without a scheme."""
    return value if "://" in value else f"http://{value}"


@dataclass(frozen=True)
class ProxyEnvironment:
    """The proxy configuration httpx derives from an environment."""

    variables: tuple[ProxyVariable, ...]
    effective: Mapping[str, tuple[str, str]]
    """Role -> (value, variable) after urllib's case and emptiness rules."""
    no_proxy: tuple[NoProxyEntry, ...]
    bypass_all: bool
    """``NO_PROXY`` holds ``*``: httpx then mounts nothing at all, broken values included."""
    patterns: tuple[_Pattern, ...]
    mounts: Mapping[str, tuple[str | None, str]]
    """httpx's mount keys in its insertion order -> (proxy URL or ``None``, origin)."""

    def route(self, url: str) -> Route:
        target = httpx.URL(url)
        for pattern in self.patterns:
            if not pattern.matches(target):
                continue
            if pattern.proxy is None:
                return Route(
                    url, None, pattern.origin, f"NO_PROXY entry {pattern.origin!r} matches"
                )
            return self._proxied(url, target, pattern)
        if self.bypass_all:
            return Route(
                url, None, "NO_PROXY", "NO_PROXY contains '*', which turns every proxy off"
            )
        return Route(url, None, None, self._direct_reason(target.scheme))

    def _proxied(self, url: str, target: httpx.URL, pattern: _Pattern) -> Route:
        proxy = pattern.proxy or ""
        role = pattern.text.split("://", 1)[0]
        if role == "all":
            reason = f"{pattern.origin} applies because no {target.scheme}_proxy variable is set"
        else:
            reason = f"{pattern.origin} applies to {role}:// URLs and no NO_PROXY entry matches"
        missed = tuple(e for e in self.no_proxy if meant_for(e.text, target))
        for entry in missed:
            reason += f"; NO_PROXY entry {entry.text!r} does not match: {miss_reason(entry)}"
        if is_loopback(target.host) and not is_loopback(proxy_host(proxy)):
            reason += "; httpx never bypasses loopback by itself: list it in NO_PROXY"
        return Route(url, proxy, pattern.origin, reason, missed)

    def _direct_reason(self, scheme: str) -> str:
        cancelled = [v.name for v in self.variables if v.role in (scheme, "all") and v.value]
        if cancelled:
            return (
                f"no proxy for {scheme}:// URLs: {', '.join(cancelled)} "
                "is set but not used (see its note)"
            )
        return f"no proxy variable applies to {scheme}:// URLs"

    def setup_errors(self) -> tuple[SetupError, ...]:
        """What httpx raises when it creates a client here, in the order it would raise."""
        errors: list[SetupError] = []
        for proxy, origin in self.mounts.values():
            if proxy is not None:
                problem = _construct_proxy(proxy, transport=False)
                if problem:
                    errors.append(SetupError(origin, *problem))
        for key, (proxy, origin) in self.mounts.items():
            try:
                _Pattern.parse(key, None, origin)
            except (httpx.InvalidURL, ValueError) as exc:
                source = f"NO_PROXY entry {origin!r}"
                errors.append(SetupError(source, type(exc).__name__, str(exc)))
            if proxy is not None and not any(e.source == origin for e in errors):
                problem = _construct_proxy(proxy, transport=True)
                if problem:
                    errors.append(SetupError(origin, *problem))
        return tuple(errors)


def proxy_environment(env: Mapping[str, str]) -> ProxyEnvironment:
    """Read an environment the way httpx does: variables, ``NO_PROXY`` and mount patterns."""
    effective = read_proxy_variables(env)
    no_proxy = tuple(entries(effective.get("no", ("", ""))[0]))
    bypass_all = any(e.text == "*" for e in no_proxy)
    variables = tuple(_describe_variables(env, effective, bypass_all))
    mounts: dict[str, tuple[str | None, str]] = {}
    if not bypass_all:
        for role in SCHEMES:
            if role in effective:
                value, name = effective[role]
                mounts[f"{role}://"] = (with_scheme(value), name)
        for entry in no_proxy:
            mounts[mount_key(entry.text)] = (None, entry.text)
    patterns: list[_Pattern] = []
    for key, (proxy, origin) in mounts.items():
        try:
            patterns.append(_Pattern.parse(key, proxy, origin))
        except (httpx.InvalidURL, ValueError):
            continue  # reported by setup_errors(): httpx would not start at all
    patterns.sort(key=lambda p: p.priority)
    return ProxyEnvironment(variables, effective, no_proxy, bypass_all, tuple(patterns), mounts)


def proxy_problem(value: str) -> str | None:
    """Why httpx refuses to create a client with this proxy value, in its own words."""
    problem = _construct_proxy(with_scheme(value), transport=True)
    return None if problem is None else f"{problem[0]}: {problem[1]}"


def _construct_proxy(url: str, transport: bool) -> tuple[str, str] | None:
    """The (exception, message) httpx raises building this proxy, or ``None``."""
    try:
        proxy = httpx.Proxy(url)
        if transport:
            # verify=False: only the proxy matters here, not the CA settings.
            httpx.HTTPTransport(proxy=proxy, verify=False)
    except ImportError as exc:
        return type(exc).__name__, str(exc)
    except (ValueError, httpx.InvalidURL) as exc:
        return type(exc).__name__, _safe_message(exc, url)
    return None


def _safe_message(exc: Exception, url: str) -> str:
    """httpx's message, unless a parser cut the URL short and may show part of the password."""
    password = url.partition("://")[2].rpartition("@")[0].partition(":")[2]
    if password and isinstance(exc, httpx.InvalidURL):
        return (
            f"httpx cannot parse the proxy URL {mask_proxy(url)}: a character in the user name "
            "or password (such as # ? / or @) is not percent-encoded"
        )
    message = mask_urls_in(str(exc))
    return message.replace(password, _MASK) if password else message


def _describe_variables(
    env: Mapping[str, str], effective: Mapping[str, tuple[str, str]], bypass_all: bool
) -> list[ProxyVariable]:
    result = []
    for name, value in sorted(env.items()):
        if not name.lower().endswith("_proxy"):
            continue
        role = name.lower()[:-6]
        winner = effective.get(role)
        used = winner is not None and winner[1] == name and role in (*SCHEMES, "no")
        note = _variable_note(
            env, name, value=value, role=role, winner=winner, bypass_all=bypass_all
        )
        result.append(ProxyVariable(name, value, role, used, note))
    return result


def _variable_note(
    env: Mapping[str, str],
    name: str,
    *,
    value: str,
    role: str,
    winner: tuple[str, str] | None,
    bypass_all: bool,
) -> str:
    lower = name.endswith("_proxy")
    if role not in (*SCHEMES, "no"):
        return "httpx ignores this variable (it reads only http, https, all and no)"
    if winner is not None and winner[1] == name:
        if bypass_all and role != "no":
            return "read, but NO_PROXY='*' turns every proxy off"
        return "used"
    if winner is not None:
        why = " (a lowercase name wins)" if winner[1].endswith("_proxy") and not lower else ""
        return f"overridden by {winner[1]}{why}"
    if not value:
        others = [n for n, v in env.items() if n != name and v and n.lower() == f"{role}_proxy"]
        if lower and others:
            return f"empty, and an empty lowercase variable cancels {', '.join(sorted(others))}"
        return "empty: ignored"
    if role == "http" and "REQUEST_METHOD" in env and not lower:
        return "ignored because REQUEST_METHOD is set (urllib's CGI protection)"
    cancel = next((n for n, v in env.items() if n.lower() == f"{role}_proxy" and not v), role)
    return f"cancelled by the empty {cancel} (an empty lowercase variable wins)"
