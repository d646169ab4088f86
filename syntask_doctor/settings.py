"""Resolve the Syntask client's settings exactly as the client does.

This module mirrors the client's rules and nothing else: which profile is active, where the
profiles file lives, and, for each setting, the first source that holds it, highest first:
the environment, ``.env`` in the working directory, ``syntask.toml`` in the working directory,
``[tool.syntask]`` in ``pyproject.toml``, the active profile, then defaults. A variable set
to an empty string still counts, as it does for the client.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dotenv

API_URL = "SYNTASK_API_URL"
API_KEY = "SYNTASK_API_KEY"
CLOUD_API_URL = "SYNTASK_CLOUD_API_URL"
SSL_CERT_FILE = "SYNTASK_API_SSL_CERT_FILE"
TLS_INSECURE = "SYNTASK_API_TLS_INSECURE_SKIP_VERIFY"
ENABLE_HTTP2 = "SYNTASK_API_ENABLE_HTTP2"

DEFAULT_CLOUD_API_URL = "https://api.syntask.cloud/api"
DEFAULT_PROFILE = "default"

RELEVANT = (API_URL, API_KEY, CLOUD_API_URL, SSL_CERT_FILE, TLS_INSECURE, ENABLE_HTTP2)
"""The settings that decide whether the client connects, in report order."""

SECRET_SETTINGS = frozenset({API_KEY})

# Setting names outside RELEVANT that the client also accepts. Names under one of the
# prefixes below are accepted without being listed; API_ and CLOUD_ names are listed
# exactly because a typo there is what breaks a connection.
_OTHER_KNOWN = frozenset(
    {
        "SYNTASK_PROFILE",
        "SYNTASK_HOME",
        "SYNTASK_PROFILES_PATH",
        "SYNTASK_DEBUG_MODE",
        "SYNTASK_TEST_MODE",
        "SYNTASK_API_REQUEST_TIMEOUT",
        "SYNTASK_API_DEFAULT_LIMIT",
        "SYNTASK_API_LOG_RETRYABLE_ERRORS",
        "SYNTASK_API_SERVICES_LATE_RUNS_ENABLED",
        "SYNTASK_CLOUD_UI_URL",
        "SYNTASK_API_AUTH_STRING",
    }
)
_KNOWN_FAMILIES = (
    "SYNTASK_LOGGING_",
    "SYNTASK_SERVER_",
    "SYNTASK_WORKER_",
    "SYNTASK_RESULTS_",
    "SYNTASK_TASKS_",
    "SYNTASK_TASK_",
    "SYNTASK_FLOWS_",
    "SYNTASK_FLOW_",
    "SYNTASK_DEPLOYMENTS_",
    "SYNTASK_RUNNER_",
    "SYNTASK_EXPERIMENTAL_",
    "SYNTASK_UI_",
    "SYNTASK_CLIENT_",
    "SYNTASK_EVENTS_",
    "SYNTASK_LOCAL_STORAGE_",
    "SYNTASK_MEMO_STORE_",
    "SYNTASK_DEFAULT_",
    "SYNTASK_SQLALCHEMY_",
    "SYNTASK_CLI_",
    "SYNTASK_MESSAGING_",
    "SYNTASK_TESTING_",
)
KNOWN_NAMES = frozenset(RELEVANT) | _OTHER_KNOWN


def is_known_setting(name: str) -> bool:
    return name in KNOWN_NAMES or name.startswith(_KNOWN_FAMILIES)


def closest_setting(name: str) -> str | None:
    """The known setting a misspelt name most likely meant."""
    matches = difflib.get_close_matches(name, sorted(KNOWN_NAMES), n=1, cutoff=0.8)
    return matches[0] if matches else None


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def parse_bool(value: str | None) -> bool | None:
    """Read a boolean the way the client's settings model does; ``None`` if it refuses it."""
    if value is None:
        return False
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


@dataclass(frozen=True)
class Source:
    """A place the client looks for settings, and what the doctor found there."""

    label: str
    """As ``syntask config view`` words it: ``env``, ``.env file``, ``profile`` ..."""
    path: str | None
    state: str
    """``read``, ``absent`` or ``broken``."""
    error: str | None = None
    keys: tuple[str, ...] = ()
    """Every ``SYNTASK_`` name the source defines."""


@dataclass(frozen=True)
class Value:
    """One setting's value and where it came from."""

    name: str
    value: str | None
    source: str
    shadowed: tuple[tuple[str, str], ...] = ()
    """Lower sources that also define it, as (source, value); the winner hides them."""


@dataclass(frozen=True)
class Settings:
    """The client's view of its configuration, with the evidence for each value."""

    profile: str
    profile_origin: str
    """What chose the profile: ``--profile``, ``SYNTASK_PROFILE``, ``profiles file`` or ``default``."""
    profile_missing: str | None
    """A requested profile name that the file does not define (the client fell back)."""
    profiles_path: Path
    profiles_path_origin: str
    profile_names: tuple[str, ...]
    sources: tuple[Source, ...]
    values: Mapping[str, Value]
    env: Mapping[str, str] = field(repr=False)

    def get(self, name: str) -> str | None:
        found = self.values.get(name)
        return None if found is None else found.value

    def source_of(self, name: str) -> str:
        found = self.values.get(name)
        return "defaults" if found is None else found.source

    @property
    def api_url(self) -> str | None:
        return self.get(API_URL)

    @property
    def api_key(self) -> str | None:
        return self.get(API_KEY)

    @property
    def cloud_api_url(self) -> str:
        return self.get(CLOUD_API_URL) or DEFAULT_CLOUD_API_URL


def _flatten(table: Mapping[str, Any], prefix: str = "SYNTASK") -> dict[str, str]:
    """``[api] url = ...`` becomes ``SYNTASK_API_URL``; values become the client's strings."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}_{key}".upper()
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name))
        else:
            flat[name] = _as_text(value)
    return flat


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; errors come back as readable text (line and column included)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsFileError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise SettingsFileError(f"{path} cannot be read: {exc.strerror}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(f"{path} is not valid TOML: {exc}") from exc


class SettingsFileError(Exception):
    """A settings file exists but cannot be read or parsed."""


def _read_dotenv(path: Path) -> dict[str, str]:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsFileError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise SettingsFileError(f"{path} cannot be read: {exc.strerror}") from exc
    return {k: v for k, v in dotenv.dotenv_values(path).items() if v is not None}


def _profiles_location(env: Mapping[str, str]) -> tuple[Path, str]:
    if env.get("SYNTASK_PROFILES_PATH"):
        return Path(env["SYNTASK_PROFILES_PATH"]).expanduser(), "SYNTASK_PROFILES_PATH"
    if env.get("SYNTASK_HOME"):
        return Path(env["SYNTASK_HOME"]).expanduser() / "profiles.toml", "SYNTASK_HOME"
    return Path("~/.syntask/profiles.toml").expanduser(), "default location"


def _load_file_source(
    label: str, path: Path, reader: Any, pick: Any = None
) -> tuple[Source, dict[str, str]]:
    if not path.exists():
        return Source(label, str(path), "absent"), {}
    try:
        raw = reader(path)
    except SettingsFileError as exc:
        return Source(label, str(path), "broken", str(exc)), {}
    values: dict[str, str] = pick(raw) if pick else raw
    keys = tuple(sorted(k for k in values if k.startswith("SYNTASK_")))
    return Source(label, str(path), "read", keys=keys), values


def _pyproject_table(raw: Mapping[str, Any]) -> dict[str, str]:
    table = raw.get("tool", {}).get("syntask", {})
    return _flatten(table) if isinstance(table, Mapping) else {}


def resolve(
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    profile_flag: str | None = None,
) -> Settings:
    """Work out every relevant setting, its value and its source, as the client would."""
    env = dict(os.environ if env is None else env)
    cwd = Path.cwd() if cwd is None else cwd

    profiles_path, path_origin = _profiles_location(env)
    profiles_source, profiles_doc = _load_profiles(profiles_path)
    profiles = profiles_doc.get("profiles", {})
    profiles = profiles if isinstance(profiles, Mapping) else {}

    requested, origin = _requested_profile(profile_flag, env, profiles_doc)
    missing = None
    name = requested
    if requested not in profiles and requested != DEFAULT_PROFILE:
        missing, name = requested, DEFAULT_PROFILE
    table = profiles.get(name, {})
    profile_values = (
        {k: _as_text(v) for k, v in table.items()} if isinstance(table, Mapping) else {}
    )
    profiles_source = Source(
        f"profile {name!r}",
        profiles_source.path,
        profiles_source.state,
        profiles_source.error,
        tuple(sorted(k for k in profile_values if k.startswith("SYNTASK_"))),
    )

    env_source = Source(
        "env", None, "read", keys=tuple(sorted(k for k in env if k.startswith("SYNTASK_")))
    )
    dotenv_source, dotenv_values = _load_file_source(".env file", cwd / ".env", _read_dotenv)
    toml_source, toml_values = _load_file_source(
        "syntask.toml", cwd / "syntask.toml", _read_toml, _flatten
    )
    pyproject_source, pyproject_values = _load_file_source(
        "pyproject.toml", cwd / "pyproject.toml", _read_toml, _pyproject_table
    )
    layers: list[tuple[str, Mapping[str, str]]] = [
        ("env", env),
        (".env file", dotenv_values),
        ("syntask.toml", toml_values),
        ("pyproject.toml", pyproject_values),
        ("profile", profile_values),
    ]
    values = {setting: _pick(setting, layers, env) for setting in RELEVANT}
    return Settings(
        profile=name,
        profile_origin=origin,
        profile_missing=missing,
        profiles_path=profiles_path,
        profiles_path_origin=path_origin,
        profile_names=tuple(profiles),
        sources=(env_source, dotenv_source, toml_source, pyproject_source, profiles_source),
        values=values,
        env=env,
    )


def _load_profiles(path: Path) -> tuple[Source, dict[str, Any]]:
    if not path.exists():
        return Source("profile", str(path), "absent"), {}
    if path.is_dir():
        return Source("profile", str(path), "broken", f"{path} is a directory"), {}
    try:
        return Source("profile", str(path), "read"), _read_toml(path)
    except SettingsFileError as exc:
        return Source("profile", str(path), "broken", str(exc)), {}


def _requested_profile(
    flag: str | None, env: Mapping[str, str], doc: Mapping[str, Any]
) -> tuple[str, str]:
    if flag:
        return flag, "--profile"
    if env.get("SYNTASK_PROFILE"):
        return env["SYNTASK_PROFILE"], "SYNTASK_PROFILE"
    active = doc.get("active")
    if isinstance(active, str) and active:
        return active, "profiles file"
    return DEFAULT_PROFILE, "default"


def _pick(
    setting: str, layers: list[tuple[str, Mapping[str, str]]], env: Mapping[str, str]
) -> Value:
    found = [(label, layer[setting]) for label, layer in layers if setting in layer]
    if found:
        (source, value), *rest = found
        return Value(setting, value, source, tuple(rest))
    return Value(setting, _default(setting, env), "defaults")


def _default(setting: str, env: Mapping[str, str]) -> str | None:
    if setting == CLOUD_API_URL:
        return DEFAULT_CLOUD_API_URL
    if setting == SSL_CERT_FILE:
        return env.get("SSL_CERT_FILE") or None
    if setting in (TLS_INSECURE, ENABLE_HTTP2):
        return "false"
    return None
