"""What changed between two JSON reports, most significant first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SEVERITY = {"error": 4, "fail": 3, "warn": 2, "skip": 1, "pass": 0}


class ReportFormatError(Exception):
    """A file is not a syntask-doctor JSON report this version can read."""


@dataclass(frozen=True)
class Change:
    weight: int
    """Larger is more significant; the listing is sorted by it."""
    area: str
    text: str


def check_document(document: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(document, Mapping) or "results" not in document:
        raise ReportFormatError(f"{name} is not a syntask-doctor JSON report")
    version = str(document.get("schema_version", ""))
    if version.split(".", maxsplit=1)[0] != "1":
        raise ReportFormatError(f"{name} has schema version {version!r}; this doctor reads 1.x")
    return document


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = [*_statuses(old, new), *_settings(old, new), *_routes(old, new), *_trust(old, new)]
    changes += _environment(old, new)
    if old.get("verdict") != new.get("verdict"):
        weight = 100 + _SEVERITY.get(str(new.get("verdict")), 0)
        changes.append(
            Change(weight, "verdict", f"verdict {old.get('verdict')} -> {new.get('verdict')}")
        )
    return sorted(changes, key=lambda c: -c.weight)


def _results(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {r["id"]: r for r in document.get("results", []) if isinstance(r, Mapping) and "id" in r}


def _statuses(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before, after = _results(old), _results(new)
    changes = []
    for check_id in sorted(before.keys() | after.keys()):
        was = before.get(check_id, {}).get("status", "absent")
        now = after.get(check_id, {}).get("status", "absent")
        if was == now:
            continue
        worse = _SEVERITY.get(now, 0) - _SEVERITY.get(was, 0)
        summary = after.get(check_id, before.get(check_id, {})).get("summary", "")
        # New failures first, ranked by how bad the new status is, then by how far it fell.
        weight = 50 + 10 * _SEVERITY.get(now, 0) + worse if worse > 0 else 20 + worse
        changes.append(Change(weight, "check", f"{check_id}: {was} -> {now}  ({summary})"))
    return changes


def _settings(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    def table(document: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
        return {s["name"]: (s.get("value"), s.get("source")) for s in document.get("settings", [])}

    before, after = table(old), table(new)
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if before.get(name) != after.get(name):
            was, now = before.get(name, (None, "absent")), after.get(name, (None, "absent"))
            changes.append(
                Change(
                    40,
                    "setting",
                    f"{name}: {was[0]!r} (from {was[1]}) -> {now[0]!r} (from {now[1]})",
                )
            )
    return changes


def _data(document: Mapping[str, Any], check_id: str) -> Mapping[str, Any]:
    result = _results(document).get(check_id, {})
    data = result.get("data", {})
    return data if isinstance(data, Mapping) else {}


def _routes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    def table(document: Mapping[str, Any]) -> dict[str, Any]:
        return {
            r.get("host"): r.get("route") for r in _data(document, "proxy.env").get("routes", [])
        }

    before, after = table(old), table(new)
    return [
        Change(35, "route", f"{host}: {before.get(host, 'absent')} -> {after.get(host, 'absent')}")
        for host in sorted(before.keys() | after.keys(), key=str)
        if before.get(host) != after.get(host)
    ]


def _trust(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    def table(document: Mapping[str, Any]) -> dict[str, Any]:
        paths = _data(document, "tls.ca_bundle").get("paths", [])
        return {p.get("client"): (p.get("kind"), p.get("location")) for p in paths}

    before, after = table(old), table(new)
    return [
        Change(30, "trust", f"{client}: {before.get(client)} -> {after.get(client)}")
        for client in sorted(before.keys() | after.keys(), key=str)
        if before.get(client) != after.get(client)
    ]


def _environment(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before, after = old.get("environment", {}), new.get("environment", {})
    return [
        Change(10, "environment", f"{name}: {before.get(name)} -> {after.get(name)}")
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
