"""Which proxy, if any, httpx uses for a URL, and why: a model of httpx's own rules.

httpx (``trust_env=True``) reads proxies through ``urllib.request.getproxies()``, keeps
``http``, ``https``, ``all`` and ``no``, turns each into a mount pattern and uses the most
specific pattern that matches. This module repeats those rules so that it can say which
variable and which ``NO_PROXY`` entry decided; the tests hold it to httpx's real decision.
"""

from __future__ import annotations

import ipaddress
import re
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from syntask_doctor.secrets import mask_url, mask_urls_in

SCHEMES = ("http", "https", "all")
ALLOWED_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True)
class ProxyVariable:
    """One ``*_proxy`` variable of the environment and whether httpx uses it."""

    name: str
    value: str
    role: str
    """``http``, ``https``, ``all`` or ``no``."""
    used: bool
    note: str


@dataclass(frozen=True)
class NoProxyEntry:
    text: str
    pattern: str | None
    """The mount pattern httpx makes of it, ``None`` when it breaks the client."""
    problem: str | None
    """Why it does not do what its author most likely meant."""
    suggestion: str | None


@dataclass(frozen=True)
class Route:
    """How httpx reaches one URL."""

    url: str
    proxy: str | None
    """The proxy URL as httpx will use it (credentials included: display through ``shown``)."""
    variable: str | None
    """The environment variable that supplied the proxy."""
    reason: str

    @property
    def shown(self) -> str:
        return "direct" if self.proxy is None else f"proxy {mask_url(self.proxy)}"


@dataclass(frozen=True)
class _Pattern:
    """httpx's URLPattern, with the entry it came from."""

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


@dataclass(frozen=True)
class ProxyEnvironment:
    """The proxy configuration httpx derives from an environment."""

    variables: tuple[ProxyVariable, ...]
    effective: Mapping[str, tuple[str, str]]
    no_proxy: tuple[NoProxyEntry, ...]
    bypass_all: bool
    patterns: tuple[_Pattern, ...]

    def route(self, url: str) -> Route:
        target = httpx.URL(url)
        for pattern in self.patterns:
            if pattern.matches(target):
                if pattern.proxy is None:
                    return Route(
                        url, None, pattern.origin, f"NO_PROXY entry {pattern.origin!r} matches"
                    )
                return Route(
                    url,
                    pattern.proxy,
                    pattern.origin,
                    f"{pattern.origin} applies to {target.scheme}:// URLs",
                )
        if self.bypass_all:
            return Route(
                url, None, "NO_PROXY", "NO_PROXY contains '*', which turns every proxy off"
            )
        return Route(url, None, None, f"no proxy variable applies to {target.scheme}:// URLs")


def with_scheme(value: str) -> str:
    """httpx's own completion of a proxy value without a scheme."""
    return value if "://" in value else f"http://{value}"


def proxy_environment(env: Mapping[str, str]) -> ProxyEnvironment:
    effective = read_proxy_variables(env)
    variables = tuple(_describe_variables(env, effective))
    no_proxy = tuple(_no_proxy_entries(effective.get("no", ("", ""))[0]))
    bypass_all = any(e.text == "*" for e in no_proxy)
    patterns: list[_Pattern] = []
    if not bypass_all:
        for role in SCHEMES:
            if role in effective:
                value, name = effective[role]
                patterns.append(_Pattern.parse(f"{role}://", with_scheme(value), name))
        for entry in no_proxy:
            if entry.pattern is not None:
                patterns.append(_Pattern.parse(entry.pattern, None, entry.text))
    patterns.sort(key=lambda p: p.priority)
    return ProxyEnvironment(variables, effective, no_proxy, bypass_all, tuple(patterns))


def _describe_variables(
    env: Mapping[str, str], effective: Mapping[str, tuple[str, str]]
) -> list[ProxyVariable]:
    result = []
    for name, value in sorted(env.items()):
        if not name.lower().endswith("_proxy"):
            continue
        role = name.lower()[:-6]
        winner = effective.get(role)
        if role not in (*SCHEMES, "no"):
            note, used = (
                "httpx ignores this variable (only http, https, all and no are read)",
                False,
            )
        elif winner is not None and winner[1] == name:
            note, used = "used", True
        elif winner is not None:
            note, used = f"overridden by {winner[1]} (lowercase wins)", False
        elif not value and name.endswith("_proxy"):
            note, used = "empty: it cancels the uppercase variable too", False
        elif not value:
            note, used = "empty: ignored", False
        else:
            note, used = f"cancelled by an empty {role}_proxy", False
        result.append(ProxyVariable(name, value, role, used, note))
    return result


def _no_proxy_entries(text: str) -> list[NoProxyEntry]:
    entries = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw or raw == "*":
            if raw:
                entries.append(NoProxyEntry(raw, None, None, None))
            continue
        entries.append(_no_proxy_entry(raw))
    return entries


def _no_proxy_entry(raw: str) -> NoProxyEntry:
    if "://" in raw:
        pattern = raw
    elif _is_ip(raw, ipaddress.IPv4Address):
        pattern = f"all://{raw}"
    elif _is_ip(raw, ipaddress.IPv6Address):
        pattern = f"all://[{raw}]"
    elif raw.lower() == "localhost":
        pattern = f"all://{raw}"
    else:
        pattern = f"all://*{raw}"
    try:
        _Pattern.parse(pattern, None, raw)
    except (httpx.InvalidURL, ValueError) as exc:
        return NoProxyEntry(raw, None, f"httpx cannot parse it and refuses to start: {exc}", None)
    problem, suggestion = _no_proxy_problem(raw)
    return NoProxyEntry(raw, pattern, problem, suggestion)


def _no_proxy_problem(raw: str) -> tuple[str | None, str | None]:
    if raw.startswith("*."):
        return ("httpx does not understand '*.' globs: this entry matches nothing", raw[1:])
    if raw.startswith("*"):
        return (
            "httpx does not understand '*' inside a name: this entry matches nothing",
            raw.lstrip("*"),
        )
    if "/" in raw and "://" not in raw:
        return (
            "httpx does not understand CIDR ranges: only the network address itself matches",
            None,
        )
    host, sep, port = raw.rpartition(":")
    if sep and port.isdigit() and not _is_ip(raw, ipaddress.IPv6Address):
        if port in ("80", "443"):
            return (
                f"a default port never matches in httpx: URLs to {host} carry no explicit port",
                host,
            )
        return (f"matches only URLs that name port {port} explicitly", None)
    return None, None


def _is_ip(text: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(text.split("/", maxsplit=1)[0])
    except ValueError:
        return False
    return True


def proxy_problem(value: str) -> str | None:
    """Why httpx refuses to create a client with this proxy URL, in its own words."""
    try:
        proxy = httpx.Proxy(with_scheme(value))
        httpx.HTTPTransport(proxy=proxy)
    except ImportError as exc:
        return f"ImportError: {exc}"
    except (ValueError, httpx.InvalidURL) as exc:
        return f"{type(exc).__name__}: {mask_urls_in(str(exc))}"
    return None
