"""Replace internal names with stable placeholders, for users who may not share them.

Public Syntask and allow-listed hosts stay, and so do names of variables and settings: the fix
must stay readable. The same environment always gets the same placeholders, so two anonymized
reports can still be compared.
"""

from __future__ import annotations

import getpass
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syntask_doctor.hosts import ALLOW_LIST
from syntask_doctor.model import Report
from syntask_doctor.settings import Settings

PUBLIC_HOSTS = frozenset({name for name, _, _ in ALLOW_LIST} | {"syntask.io", "localhost"})
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")


def _host(url: str) -> str | None:
    try:
        return urlsplit(url if "://" in url else f"http://{url}").hostname
    except ValueError:
        return None


def _user(url: str) -> str | None:
    try:
        return urlsplit(url if "://" in url else f"http://{url}").username
    except ValueError:
        return None


def _is_public(host: str) -> bool:
    return host.lower() in PUBLIC_HOSTS or host.lower().endswith(".syntask.cloud")


def _keep_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return True  # not an address after all
    return address.is_loopback or address.is_unspecified


class Anonymizer:
    """Maps each private value to ``<kind>-<n>``, numbered in sorted order so it is stable."""

    def __init__(self, values: Iterable[tuple[str, str]]) -> None:
        by_kind: dict[str, set[str]] = {}
        for kind, value in values:
            if value and len(value) >= 3:
                by_kind.setdefault(kind, set()).add(value)
        self._names: dict[str, str] = {}
        for kind, found in sorted(by_kind.items()):
            for index, value in enumerate(sorted(found), start=1):
                self._names.setdefault(value, f"{kind}-{index}")
        self._addresses: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        for value in sorted(self._names, key=len, reverse=True):
            text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", self._names[value], text)
        text = _IPV4.sub(self._address, text)
        return _IPV6.sub(self._address, text)

    def _address(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if _keep_address(found):
            return found
        return self._addresses.setdefault(found, f"ip-{len(self._addresses) + 1}")


def private_values(settings: Settings, report: Report) -> list[tuple[str, str]]:
    """Internal host names, user and account names the report may mention."""
    env: Mapping[str, str] = settings.env
    found: list[tuple[str, str]] = []
    urls = [settings.api_url or "", settings.cloud_api_url]
    urls += [value for name, value in env.items() if name.lower().endswith("_proxy")]
    for url in urls:
        host = _host(url)
        if host and not _is_public(host) and _keep_address(host):
            found.append(("host", host))
        user = _user(url)
        if user:
            found.append(("user", user))
    for name, value in env.items():
        if name.lower() == "no_proxy":
            for entry in value.split(","):
                host = entry.strip().lstrip("*.").split(":")[0]
                if host and not _is_public(host) and _keep_address(host):
                    found.append(("host", host))
    found.append(("user", getpass.getuser()))
    found.append(("user", Path.home().name))
    found.append(("machine", socket.gethostname()))
    for result in report.results:
        found += _account_names(result.outcome.data)
    return found


def _account_names(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for item in data.get("workspaces", []) or data.get("visible", []) or []:
        if isinstance(item, Mapping) and isinstance(item.get("handle"), str):
            account, _, workspace = item["handle"].partition("/")
            found += [("account", account), ("workspace", workspace)]
    return found
