"""Resolve the Syntask client's settings exactly as the client does.

This module mirrors the client's rules and nothing else (see CLIENT-FACTS.md, "Settings"):
which profile is active, where the profiles file lives, and, for each setting, the first
source that holds it, highest first: the environment, ``.env`` in the working directory,
``syntask.toml`` in the working directory, ``[tool.syntask]`` in ``pyproject.toml``, the
active profile, then defaults. A variable set to an empty string still counts, as it does
for the client. Files that cannot be read are recorded on their source, never raised.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dotenv.main import resolve_variables
from dotenv.parser import parse_stream

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

BOOLEAN_SETTINGS = (TLS_INSECURE, ENABLE_HTTP2)
SECRET_SETTINGS = frozenset({API_KEY})

# Setting names outside RELEVANT that the client also accepts. Names under one of the
# families below are accepted without being listed; API_ and CLOUD_ names are listed
# exactly, because a typo there is what breaks a connection.
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
    """Whether the client reads a setting of this name."""
    return name in KNOWN_NAMES or name.startswith(_KNOWN_FAMILIES)


def closest_setting(name: str) -> str | None:
    """The known setting a misspelt name most likely meant."""
    matches = difflib.get_close_matches(name, sorted(KNOWN_NAMES), n=1, cutoff=0.8)
    return matches[0] if matches else None


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def parse_bool(value: str | None) -> bool | None:
    """Read a boolean as the client's settings model does: unset is ``False``, garbage ``None``.

    ``None`` means the client refuses the value and does not start.
    """
    if value is None:
        return False
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


SourceState = Literal["read", "absent", "broken"]


@dataclass(frozen=True)
class Source:
    """A place the client looks for settings, and what the doctor found there."""

    label: str
    """As ``syntask config view`` words it: ``env``, ``.env file``, ``profile 'name'`` ..."""
    path: str | None
    state: SourceState
    error: str | None = None
    """Why a ``broken`` source cannot be read, with line and column when known."""
    keys: tuple[str, ...] = ()
    """Every setting name the source defines (for a profile, every key of its table)."""
    notes: tuple[str, ...] = ()
    """Parts of a readable source that the client skips, such as a line ``.env`` cannot parse."""


@dataclass(frozen=True)
class Value:
    """One setting's value and where it came from."""

    name: str
    value: str | None
    source: str
    """A :class:`Source` label without the profile name (``profile``), or ``defaults``."""
    shadowed: tuple[tuple[str, str], ...] = ()
    """Lower sources that also define it, as (source, value); the winner hides them."""


@dataclass(frozen=True)
class Settings:
    """The client's view of its configuration, with the evidence for each value."""

    profile: str
    profile_origin: str
    """What chose it: ``--profile``, ``SYNTASK_PROFILE``, ``profiles file`` or ``default``."""
    profile_missing: str | None
    """A requested profile name that the file does not define (the client fell back)."""
    profiles_path: Path
    profiles_path_origin: str
    """``SYNTASK_PROFILES_PATH``, ``SYNTASK_HOME`` or ``default location``."""
    profile_names: tuple[str, ...]
    sources: tuple[Source, ...]
    """Every source looked at, highest first; the active profile is last."""
    values: Mapping[str, Value]
    env: Mapping[str, str] = field(repr=False)
    cwd: Path = field(default_factory=Path)
    """The working directory whose ``.env``, ``syntask.toml`` and ``pyproject.toml`` count."""

    def get(self, name: str) -> str | None:
        found = self.values.get(name)
        return None if found is None else found.value

    def source_of(self, name: str) -> str:
        found = self.values.get(name)
        return "defaults" if found is None else found.source

    def describe(self, source: str) -> str:
        """A source label as a user reads it: ``profile`` becomes ``profile 'default'``."""
        return f"profile {self.profile!r}" if source == "profile" else source

    @property
    def api_url(self) -> str | None:
        return self.get(API_URL)

    @property
    def api_key(self) -> str | None:
        return self.get(API_KEY)

    @property
    def cloud_api_url(self) -> str:
        return self.get(CLOUD_API_URL) or DEFAULT_CLOUD_API_URL


class SettingsFileError(Exception):
    """A settings file exists but cannot be read or parsed."""


def _as_text(value: Any) -> str:
    """A TOML value as the client's settings model sees it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(table: Mapping[str, Any], prefix: str = "SYNTASK") -> dict[str, str]:
    """``[api] url = ...`` becomes ``SYNTASK_API_URL``."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}_{key}".upper()
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name))
        else:
            flat[name] = _as_text(value)
    return flat


MAX_FILE_BYTES = 4 * 1024 * 1024
"""Settings files are small; anything larger is not one, and reading it could take long."""


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SettingsFileError(f"{path} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise SettingsFileError(f"{path} is not a regular file (a pipe or a device?)")
        if info.st_size > MAX_FILE_BYTES:
            raise SettingsFileError(
                f"{path} is {info.st_size} bytes: too large for a settings file"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsFileError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsFileError(
            f"{path} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x});"
            " is it a binary file?"
        ) from exc


_TOML_WHERE = re.compile(r"\s*\(at (line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> SettingsFileError:
    """Name the line and column, and the key on that line, never the value (it may be a key)."""
    message = str(exc)
    where = _TOML_WHERE.search(message)
    reason = message[: where.start()] if where else message
    if where is None or where["line"] is None:
        place = " at the end of the file" if where else ""
        return SettingsFileError(f"{path} is not valid TOML{place}: {reason}")
    line = int(where["line"])
    lines = text.splitlines()
    key = _TOML_KEY.match(lines[line - 1]) if 0 < line <= len(lines) else None
    about = f" (the line setting {key[1].strip()})" if key else ""
    return SettingsFileError(
        f"{path} is not valid TOML at line {line}, column {where['column']}{about}: {reason}"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from exc


def _read_dotenv(path: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    """Values as python-dotenv gives them to the client, and the lines it skips."""
    text = _read_text(path)
    bindings = list(parse_stream(io.StringIO(text)))
    skipped = tuple(
        f"{path} line {b.original.line} cannot be parsed; the client skips it"
        for b in bindings
        if b.error
    )
    pairs = [(b.key, b.value) for b in bindings if b.key is not None and not b.error]
    values = resolve_variables(pairs, override=True)
    return {k: v for k, v in values.items() if v is not None}, skipped


def _expand(text: str, cwd: Path) -> Path:
    path = Path(text)
    # With no home directory to expand ``~`` to, the path stays as written.
    with contextlib.suppress(RuntimeError):
        path = path.expanduser()
    return path if path.is_absolute() else cwd / path


def _profiles_location(env: Mapping[str, str], cwd: Path) -> tuple[Path, str]:
    if env.get("SYNTASK_PROFILES_PATH"):
        return _expand(env["SYNTASK_PROFILES_PATH"], cwd), "SYNTASK_PROFILES_PATH"
    if env.get("SYNTASK_HOME"):
        return _expand(env["SYNTASK_HOME"], cwd) / "profiles.toml", "SYNTASK_HOME"
    return _expand("~/.syntask/profiles.toml", cwd), "default location"


def _exists(path: Path) -> bool:
    """``Path.exists`` that treats an unsearchable parent as "there, but unreadable"."""
    try:
        return path.exists()
    except OSError:
        return True


Picker = Callable[[Mapping[str, Any], Path], tuple[dict[str, str], tuple[str, ...]]]
"""Turns a parsed TOML document into setting values and notes on what the client skips."""


def _no_settings(
    _document: Mapping[str, Any], _path: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    return {}, ()


def _file_source(
    label: str, path: Path, pick: Picker
) -> tuple[Source, dict[str, str], dict[str, Any]]:
    """Read one TOML source: its record, its setting values and the whole document."""
    if not _exists(path):
        return Source(label, str(path), "absent"), {}, {}
    try:
        document = _read_toml(path)
    except SettingsFileError as exc:
        return Source(label, str(path), "broken", str(exc)), {}, {}
    values, notes = pick(document, path)
    source = Source(label, str(path), "read", keys=tuple(sorted(values)), notes=notes)
    return source, values, document


def _syntask_toml(
    document: Mapping[str, Any], path: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    flat = {k: v for k, v in document.items() if not k.upper().startswith("SYNTASK_")}
    notes = tuple(
        f"{path} has a top-level {key}, which the client does not read: syntask.toml uses"
        f" nested tables, write it as [{table}] {name} = ..."
        for key in document
        if key.upper().startswith("SYNTASK_")
        for table, name in [toml_nesting(key)]
    )
    return _flatten(flat), notes


def toml_nesting(name: str) -> tuple[str, str]:
    """``SYNTASK_API_URL`` as the table and key it needs in ``syntask.toml``: (api, url)."""
    rest = name.upper().removeprefix("SYNTASK_").lower()
    table, _, key = rest.partition("_")
    return table, key or table


def _pyproject(document: Mapping[str, Any], path: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    tool = document.get("tool")
    table = tool.get("syntask") if isinstance(tool, Mapping) else None
    if table is None:
        return {}, ()
    if not isinstance(table, Mapping):
        return {}, (f"{path}: tool.syntask is not a table; the client finds no settings in it",)
    return _flatten(table), ()


def _dotenv_source(path: Path) -> tuple[Source, dict[str, str]]:
    if not _exists(path):
        return Source(".env file", str(path), "absent"), {}
    try:
        values, notes = _read_dotenv(path)
    except SettingsFileError as exc:
        return Source(".env file", str(path), "broken", str(exc)), {}
    keys = tuple(sorted(k for k in values if k.startswith("SYNTASK_")))
    return Source(".env file", str(path), "read", keys=keys, notes=notes), values


def _requested_profile(
    flag: str | None, env: Mapping[str, str], document: Mapping[str, Any]
) -> tuple[str, str]:
    if flag:
        return flag, "--profile"
    if env.get("SYNTASK_PROFILE"):
        return env["SYNTASK_PROFILE"], "SYNTASK_PROFILE"
    active = document.get("active")
    if isinstance(active, str) and active:
        return active, "profiles file"
    return DEFAULT_PROFILE, "default"


def _profile_table(
    profiles: Mapping[str, Any], name: str, path: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    table = profiles.get(name, {})
    if not isinstance(table, Mapping):
        return {}, (f"{path}: profiles.{name} is not a table; the profile holds no settings",)
    values = {k: _as_text(v) for k, v in table.items() if not isinstance(v, Mapping)}
    notes = tuple(
        f"{path}: [profiles.{name}.{k}] is a table; profiles hold plain NAME = value pairs"
        for k, v in table.items()
        if isinstance(v, Mapping)
    )
    return values, notes


def resolve(
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    profile_flag: str | None = None,
) -> Settings:
    """Work out every relevant setting, its value and its source, as the client would."""
    env = dict(os.environ if env is None else env)
    if cwd is None:
        try:
            cwd = Path.cwd()
        except OSError:  # the working directory was deleted under us
            cwd = Path(".")

    profiles_path, path_origin = _profiles_location(env, cwd)
    file_source, _, document = _file_source("profiles file", profiles_path, _no_settings)
    profiles = document.get("profiles", {})
    notes: tuple[str, ...] = ()
    if not isinstance(profiles, Mapping):
        notes, profiles = (f"{profiles_path}: 'profiles' is not a table",), {}

    requested, origin = _requested_profile(profile_flag, env, document)
    name, missing = requested, None
    if requested not in profiles and requested != DEFAULT_PROFILE:
        name, missing = DEFAULT_PROFILE, requested
    profile_values, table_notes = _profile_table(profiles, name, profiles_path)
    profile_source = Source(
        f"profile {name!r}",
        file_source.path,
        file_source.state,
        file_source.error,
        tuple(sorted(profile_values)),
        notes + table_notes,
    )

    env_keys = tuple(sorted(k for k in env if k.startswith("SYNTASK_")))
    env_source = Source("env", None, "read", keys=env_keys)
    dotenv_source, dotenv_values = _dotenv_source(cwd / ".env")
    toml_source, toml_values, _ = _file_source("syntask.toml", cwd / "syntask.toml", _syntask_toml)
    pyproject_source, pyproject_values, _ = _file_source(
        "pyproject.toml", cwd / "pyproject.toml", _pyproject
    )
    layers: list[tuple[str, Mapping[str, str]]] = [
        ("env", env),
        (".env file", dotenv_values),
        ("syntask.toml", toml_values),
        ("pyproject.toml", pyproject_values),
        ("profile", profile_values),
    ]
    return Settings(
        profile=name,
        profile_origin=origin,
        profile_missing=missing,
        profiles_path=profiles_path,
        profiles_path_origin=path_origin,
        profile_names=tuple(profiles),
        sources=(env_source, dotenv_source, toml_source, pyproject_source, profile_source),
        values={setting: _pick(setting, layers, env) for setting in RELEVANT},
        env=env,
        cwd=cwd,
    )


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
    if setting in BOOLEAN_SETTINGS:
        return "false"
    return None


def how_to_set(settings: Settings, name: str, value: str) -> str:
    """How to change ``name`` where its winning value lives; elsewhere it would stay hidden."""
    source = settings.source_of(name)
    table, key = toml_nesting(name)
    if source == "env":
        return f'export {name}="{value}" (where your shell, CI or container sets it)'
    if source == ".env file":
        return f'in {settings.cwd / ".env"}, write {name}="{value}"'
    if source == "syntask.toml":
        return f'in {settings.cwd / "syntask.toml"}, under [{table}] write {key} = "{value}"'
    if source == "pyproject.toml":
        where = settings.cwd / "pyproject.toml"
        return f'in {where}, under [tool.syntask.{table}] write {key} = "{value}"'
    return f'`syntask config set {name}="{value}"`'


def how_to_unset(settings: Settings, name: str) -> str:
    """How to remove ``name`` from the source whose value wins."""
    source = settings.source_of(name)
    table, key = toml_nesting(name)
    if source == "env":
        return f"`unset {name}` (and remove it where your shell, CI or container sets it)"
    if source == ".env file":
        return f"remove the {name} line from {settings.cwd / '.env'}"
    if source == "syntask.toml":
        return f"remove {key} from [{table}] in {settings.cwd / 'syntask.toml'}"
    if source == "pyproject.toml":
        return f"remove {key} from [tool.syntask.{table}] in {settings.cwd / 'pyproject.toml'}"
    return f"`syntask config unset {name}`"
