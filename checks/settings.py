"""Settings checks: the profile and its sources, the API URL, the API key. No network."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from syntask_doctor import api_url as urls
from syntask_doctor import settings as names
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.registry import check
from syntask_doctor.secrets import mask_key, mask_url, mask_urls_in
from syntask_doctor.settings import Settings, Source, Value

KEY_LENGTH = 40
KEY_KINDS = {"pnu_": "user key", "pnb_": "service-account key"}
LEGACY_PREFIX = "pcu"
CLOUD_TEMPLATE = urls.WORKSPACE_TEMPLATE.format(root=names.DEFAULT_CLOUD_API_URL)
SELF_HOSTED_TEMPLATE = "http://<HOST>:4200/api"


# --- settings.profile -------------------------------------------------------------------


@check("settings.profile", "Profiles file and setting sources")
def profile(ctx: Context) -> Outcome:
    s = ctx.settings
    unknown = _unknown_keys(s)
    suspicious = [(k, w, hint) for k, w, hint in unknown if hint or _exactly_listed(k)]
    details = [*_sources_report(s), *_winners(s)]
    details += [
        f"{key} in {where} is not a setting syntask-doctor knows; the client ignores unknown names"
        for key, where, hint in unknown
        if (key, where, hint) not in suspicious
    ]
    data: dict[str, Any] = {
        "profiles_path": str(s.profiles_path),
        "profiles_path_origin": s.profiles_path_origin,
        "profile": s.profile,
        "profile_origin": s.profile_origin,
        "profiles": list(s.profile_names),
        "sources": [
            {"source": src.label, "path": src.path, "state": src.state} for src in s.sources
        ],
        "unknown_keys": [key for key, _, _ in unknown],
    }
    invalid = [
        f"{name}={value!r} (from {where}) is not true or false: the client refuses to start"
        for name, value, where in _invalid_booleans(s)
    ]
    broken = [src for src in s.sources if src.state == "broken"]
    if broken:
        return _broken(s, broken, [*invalid, *details], data)
    if invalid:
        name = _invalid_booleans(s)[0][0]
        return failed(
            invalid[0],
            *invalid[1:],
            *details,
            remedy=names.how_to_set(s, name, "false"),
            **data,
        )
    if s.profile_missing:
        choices = ", ".join(repr(n) for n in s.profile_names) or "none: the file has no profiles"
        return warned(
            f"Profile {s.profile_missing!r} (chosen by {s.profile_origin}) does not exist in"
            f" {s.profiles_path}: the client warns and falls back to {s.profile!r}",
            f"profiles in the file: {choices}",
            *details,
            remedy=_profile_fix(s),
            **data,
        )
    warnings = [
        *(f"{k} in {w} is not a setting the client reads" for k, w, _ in suspicious),
        *(note for src in s.sources for note in src.notes),
    ]
    if warnings:
        fixes = [f"Rename {k} in {w} to {_spelled(hint, w)}" for k, w, hint in suspicious if hint]
        return warned(
            warnings[0],
            *warnings[1:],
            *details,
            remedy="; ".join(fixes) or "Correct or remove what is named: the client ignores it",
            **data,
        )
    where = (
        f"from {s.profiles_path}"
        if s.sources[-1].state == "read"
        else f"(no profiles file at {s.profiles_path}: the client uses its defaults)"
    )
    return passed(f"Active profile {s.profile!r} {where}", *details, **data)


def _sources_report(s: Settings) -> list[str]:
    unread = " (the profiles file, which may name another, is unreadable)"
    unread = unread if s.sources[-1].state == "broken" and s.profile_origin == "default" else ""
    lines = [
        f"profiles file: {s.profiles_path} (from {s.profiles_path_origin})",
        f"active profile: {s.profile!r} (chosen by {s.profile_origin}){unread}",
        f"working directory: {s.cwd}",
        "sources looked at, highest first:",
    ]
    lines += [f"  {_source_line(src)}" for src in s.sources]
    lines.append("  defaults")
    return lines


def _source_line(src: Source) -> str:
    where = f" ({src.path})" if src.path else ""
    if src.state == "absent":
        return f"{src.label}{where}: not present"
    if src.state == "broken":
        return f"{src.label}{where}: unreadable (see above)"
    found = ", ".join(src.keys) if src.keys else "no settings"
    return f"{src.label}{where}: {found}"


def _winners(s: Settings) -> list[str]:
    """For each setting defined in more than one place, which source wins."""
    return [
        f"{value.name}: {s.describe(value.source)} wins over "
        + ", ".join(s.describe(src) for src, _ in value.shadowed)
        for value in s.values.values()
        if value.shadowed
    ]


def _broken(s: Settings, broken: list[Source], details: list[str], data: dict[str, Any]) -> Outcome:
    profiles = s.sources[-1]
    errors = [src.error or "" for src in broken]
    if profiles in broken:
        summary = (
            f"The profiles file {profiles.path} cannot be used: every syntask command stops on it"
        )
        remedy = (
            f'Fix {profiles.path} at the line named (a value needs quotes: NAME = "value"),'
            " or move it aside and run `syntask cloud login` to write a new one"
            if "not valid TOML" in (profiles.error or "")
            else f"Move {profiles.path} aside and run `syntask cloud login` to write a new one,"
            " or point SYNTASK_PROFILES_PATH at the right file"
        )
        return failed(summary, *errors, *details, remedy=remedy, **data)
    first_broken = broken[0]
    return failed(
        f"{first_broken.label} in the working directory cannot be read by the client either",
        *errors,
        *details,
        remedy=f"Fix or remove {first_broken.path}",
        **data,
    )


def _profile_fix(s: Settings) -> str:
    use = f"`syntask profile use {s.profile_names[0]}`" if s.profile_names else None
    if s.profile_origin == "SYNTASK_PROFILE":
        return "Set SYNTASK_PROFILE to an existing profile, or `unset SYNTASK_PROFILE`"
    if s.profile_origin == "--profile":
        return "Pass an existing profile name to --profile"
    return use or "Run `syntask cloud login` to create a profile"


def _invalid_booleans(s: Settings) -> list[tuple[str, str, str]]:
    return [
        (name, value.value, s.describe(value.source))
        for name in names.BOOLEAN_SETTINGS
        if (value := s.values[name]).value is not None and names.parse_bool(value.value) is None
    ]


def _unknown_keys(s: Settings) -> list[tuple[str, str, str | None]]:
    found = []
    for src in s.sources:
        for key in src.keys:
            if not names.is_known_setting(key):
                found.append((key, src.label, _hint(key)))
    return found


def _hint(key: str) -> str | None:
    prefixed = f"SYNTASK_{key.upper()}"
    if not key.upper().startswith("SYNTASK_") and names.is_known_setting(prefixed):
        return prefixed
    return names.closest_setting(key.upper())


def _exactly_listed(key: str) -> bool:
    """API_ and CLOUD_ names are listed exactly, so an unknown one there is a likely mistake."""
    return key.startswith(("SYNTASK_API_", "SYNTASK_CLOUD_"))


def _spelled(name: str, source: str) -> str:
    """A setting name as it is written in that source."""
    table, key = names.toml_nesting(name)
    if source == "syntask.toml":
        return f"{key} under [{table}]"
    if source == "pyproject.toml":
        return f"{key} under [tool.syntask.{table}]"
    return name


# --- settings.api_url -------------------------------------------------------------------


@check("settings.api_url", "API URL")
def api_url(ctx: Context) -> Outcome:
    s = ctx.settings
    value = s.values[names.API_URL]
    if not value.value:
        return _no_url(s, value)
    url = value.value
    diagnosis = urls.examine(url, s.cloud_api_url)
    # A password in the URL is shown masked everywhere, the corrected URL included.
    suggested = mask_url(diagnosis.suggested) if diagnosis.suggested else None
    details = [
        f"SYNTASK_API_URL={_masked_url(url)!r} (from {s.describe(value.source)})",
        *_hides(s, value),
    ]
    data: dict[str, Any] = {
        "url": _masked_url(url),
        "source": s.describe(value.source),
        "kind": diagnosis.kind,
        "problems": [p.code for p in diagnosis.problems],
        "suggested": suggested,
    }
    if diagnosis.ids:
        data |= {"account_id": diagnosis.ids.account, "workspace_id": diagnosis.ids.workspace}
    if not diagnosis.problems:
        host = urls.host_of(url)
        if diagnosis.kind == "cloud" and diagnosis.ids:
            ids = diagnosis.ids
            line = f"account {ids.account}, workspace {ids.workspace}; Cloud needs an API key"
            return passed("Syntask Cloud workspace URL", *details, line, **data)
        if url.lower().startswith("http://"):
            details.append("plain http is fine on loopback: nothing crosses the network")
        return passed(f"Self-hosted server at {host}: it needs no API key", *details, **data)
    blocking = [p for p in diagnosis.problems if p.blocking]
    first = (blocking or list(diagnosis.problems))[0]
    details += [f"also: SYNTASK_API_URL {p.text}" for p in diagnosis.problems if p is not first]
    if suggested:
        details.append(f"the API URL to use: {suggested}")
    report = failed if blocking else warned
    return report(
        f"SYNTASK_API_URL {first.text}",
        *details,
        remedy=_url_fix(s, diagnosis, first, suggested),
        **data,
    )


def _no_url(s: Settings, value: Value) -> Outcome:
    looked = ", ".join(
        s.describe(src.label) + (f" ({src.path})" if src.path else "") for src in s.sources
    )
    details = [f"looked for SYNTASK_API_URL in: {looked}, defaults (none)"]
    details += [
        f"{src.label} ({src.path}) could not be read, so a URL in it counts for nothing"
        " (see settings.profile)"
        for src in s.sources
        if src.state == "broken"
    ]
    key = s.values[names.API_KEY]
    if key.value:
        where = s.describe(key.source)
        details.append(f"SYNTASK_API_KEY is set (from {where}) but unused without an API URL")
    remedy = (
        "`syntask cloud login` writes the workspace URL and key to the profile; or set"
        f" SYNTASK_API_URL to {CLOUD_TEMPLATE} (Cloud) or {SELF_HOSTED_TEMPLATE} (self-hosted)"
    )
    data: dict[str, Any] = {
        "url": None,
        "kind": "unset",
        "source": s.describe(value.source),
        "problems": [],
    }
    local = (
        "the client will run a throw-away local server, so nothing reaches Syntask Cloud"
        " or your own server"
    )
    if value.value is None:
        return warned(f"No API URL is set: {local}", *details, remedy=remedy, **data)
    where = s.describe(value.source)
    hides = _hides(s, value)
    summary = f"SYNTASK_API_URL is set to an empty string (in {where}): {local}"
    if hides:
        fix = f"{names.how_to_unset(s, names.API_URL)}, so the URL below it applies"
        return failed(summary, *hides, *details, remedy=fix, **data)
    return warned(summary, *details, remedy=remedy, **data)


def _hides(s: Settings, value: Value) -> list[str]:
    """What the winning value hides, secrets masked."""
    secret = value.name in names.SECRET_SETTINGS
    return [
        f"it overrides {s.describe(src)}, which holds "
        + ((mask_key(v) or "an empty value") if secret else repr(_masked_url(v)))
        for src, v in value.shadowed
    ]


def _masked_url(text: str) -> str:
    """A URL as written (quotes and all), its password hidden."""
    return mask_urls_in(mask_url(text))


def _url_fix(
    s: Settings, diagnosis: urls.Diagnosis, first: urls.Problem, suggested: str | None
) -> str:
    if suggested:
        return names.how_to_set(s, names.API_URL, suggested)
    if first.code == "plain-http":
        return "Serve the API over https (a TLS reverse proxy), or reach it through a tunnel"
    if first.code == "cloud-shape":
        return "If this is a Syntask Cloud endpoint, set SYNTASK_CLOUD_API_URL to its API root"
    if diagnosis.kind == "cloud":
        template = urls.WORKSPACE_TEMPLATE.format(root=s.cloud_api_url.rstrip("/"))
        command = '`syntask cloud workspace set --workspace "<account-handle>/<workspace-handle>"`'
        if s.source_of(names.API_URL) in ("profile", "defaults"):
            return f"Run {command}; it writes the right URL to the profile"
        return (
            f"Take the ids from the browser address (/account/<ACCOUNT-ID>/workspace/"
            f"<WORKSPACE-ID>), then {names.how_to_set(s, names.API_URL, template)}"
        )
    example = f"{CLOUD_TEMPLATE} or {SELF_HOSTED_TEMPLATE}"
    return f"{names.how_to_set(s, names.API_URL, '<API-URL>')}, e.g. {example}"


# --- settings.api_key -------------------------------------------------------------------


@check("settings.api_key", "API key")
def api_key(ctx: Context) -> Outcome:
    s = ctx.settings
    value = s.values[names.API_KEY]
    key = value.value
    url = s.api_url
    # None: no API URL, so the client runs a throw-away local server and sends no key anywhere.
    kind = urls.examine(url, s.cloud_api_url).kind if url else None
    need = {
        "cloud": "Syntask Cloud needs a key",
        "self-hosted": "a self-hosted server needs none",
        "invalid": "whether a key is needed depends on the API URL, which is unusable",
    }.get(kind or "", "")
    where = s.describe(value.source)
    hides = _hides(s, value)
    data: dict[str, Any] = {
        "present": key is not None,
        "source": where if key is not None else None,
        "masked": mask_key(key),
        "length": len(key or ""),
        "needed": kind == "cloud",
        "overrides": [s.describe(src) for src, _ in value.shadowed],
    }
    if key is None:
        if kind == "cloud":
            return failed(
                "No API key is set, and Syntask Cloud needs one",
                f"SYNTASK_API_URL is a Cloud URL (from {s.describe(s.source_of(names.API_URL))})",
                remedy="Run `syntask cloud login`, or set SYNTASK_API_KEY to a key from the web UI",
                **data,
            )
        if kind is None:
            return skipped("No API key and no API URL: nothing to authenticate against", **data)
        if kind == "invalid":
            return skipped("No API key; the API URL is unusable (see settings.api_url)", **data)
        return passed("No API key: a self-hosted server needs none", **data)
    if key == "":
        return _empty_key(s, value, kind, hides, data)
    masked = mask_key(key) or ""
    origin = f"key {masked} (from {where})"
    problems = _character_problems(key)
    if problems and kind is not None:
        refused = _header_refused(key)
        report = failed if refused or kind == "cloud" else warned
        return report(
            f"The API key has {problems[0]}: {_consequence(key, refused)}",
            origin,
            *(f"it also has {p}" for p in problems[1:]),
            *hides,
            need,
            remedy=_retype_fix(s),
            **data,
        )
    if kind is None:
        notes = [f"it has {p}" for p in problems] or _format_notes(key)
        return skipped(
            f"The API key {masked} (from {where}) is unused: no API URL is set, so the client"
            " runs a throw-away local server",
            *notes,
            *hides,
            **data,
        )
    if kind == "self-hosted":
        return passed(f"API key {masked} (from {where}); {need}", *hides, **data)
    return _cloud_key(s, key, origin, hides, data)


def _empty_key(
    s: Settings, value: Value, kind: str | None, hides: list[str], data: dict[str, Any]
) -> Outcome:
    where = s.describe(value.source)
    hidden = f": it hides the key in {s.describe(value.shadowed[0][0])}" if hides else ""
    summary = f"SYNTASK_API_KEY is set to an empty string (in {where}){hidden}"
    consequence = "the client sends no Authorization header"
    fix = names.how_to_unset(s, names.API_KEY)
    fix += ", so the key below it applies" if hides else ", or set a valid key there"
    if kind == "cloud":
        return failed(f"{summary}; {consequence} and Cloud answers 401", *hides, remedy=fix, **data)
    if hides:
        return warned(f"{summary}; {consequence}", *hides, remedy=fix, **data)
    if kind is None:
        return skipped(f"{summary}; no API URL is set either, so no key is needed", **data)
    return passed(f"{summary}; a self-hosted server needs no key", **data)


def _cloud_key(
    s: Settings, key: str, origin: str, hides: list[str], data: dict[str, Any]
) -> Outcome:
    prefix = key[:4]
    new_key = (
        "Create a new API key in the Syntask Cloud web UI (a service account for a pnb_ key),"
        f" then {names.how_to_set(s, names.API_KEY, '<NEW-KEY>')}"
    )
    if prefix in KEY_KINDS:
        kind = KEY_KINDS[prefix]
        shape = _shape_problem(key)
        if shape:
            return warned(
                f"The {kind} {shape}: probably cut off or pasted with extra text",
                origin,
                f"Syntask keys are {prefix} plus 36 letters and digits, {KEY_LENGTH} characters",
                *hides,
                remedy=f"Copy the key again, whole; or {new_key[0].lower()}{new_key[1:]}",
                kind=kind,
                **data,
            )
        return passed(f"{kind.capitalize()}, {origin}", *hides, kind=kind, **data)
    legacy = key.startswith(LEGACY_PREFIX)
    what = (
        f"is from the previous product generation ({LEGACY_PREFIX}), not a Syntask Cloud key"
        if legacy
        else "has no known prefix"
    )
    return warned(
        f"The API key {what}: Syntask Cloud keys start with pnu_ (user) or pnb_ (service account)",
        origin,
        *hides,
        remedy=new_key,
        kind="legacy" if legacy else "unknown",
        **data,
    )


def _format_notes(key: str) -> list[str]:
    """What a format check would say of a key that is not used now."""
    if key[:4] in KEY_KINDS:
        shape = _shape_problem(key)
        return [f"the key {shape}"] if shape else []
    return ["its prefix is not pnu_ (user) or pnb_ (service account)"]


def _shape_problem(key: str) -> str | None:
    if len(key) != KEY_LENGTH:
        return f"has {len(key)} characters where Syntask keys have {KEY_LENGTH}"
    odd = next((i for i, c in enumerate(key[4:], 5) if not (c.isascii() and c.isalnum())), None)
    return f"has a character other than a letter or digit at character {odd}" if odd else None


def _retype_fix(s: Settings) -> str:
    return (
        f"Set the key again without them: {names.how_to_set(s, names.API_KEY, '<KEY>')}; a"
        " secret written with `echo` ends in a newline, `printf '%s'` writes none"
    )


_CHAR_NAMES = {
    "\n": "a newline ('\\n')",
    "\r": "a carriage return ('\\r')",
    "\t": "a tab ('\\t')",
    " ": "a space",
    '"': "a double quote",
    "'": "a single quote",
}


def _is_odd(char: str) -> bool:
    return char in "'\"" or char.isspace() or not char.isprintable() or not char.isascii()


def _chars(text: str) -> str:
    """Names of the characters in ``text`` (never key characters: only odd ones come here)."""
    seen = dict.fromkeys(text)
    return " and ".join(_CHAR_NAMES.get(c) or _char_name(c) for c in seen)


def _char_name(char: str) -> str:
    if char.isascii():
        return f"a control character ({char!r})"
    return f"the non-ASCII character {char!r} ({unicodedata.name(char, 'unnamed').lower()})"


def _character_problems(key: str) -> list[str]:
    """Whitespace, control characters, quotes or non-ASCII in the key, and where they are."""
    start = next((i for i, c in enumerate(key) if not _is_odd(c)), len(key))
    end = len(key) - next((i for i, c in enumerate(reversed(key)) if not _is_odd(c)), 0)
    end = max(end, start)
    problems = []
    if start:
        problems.append(f"{_chars(key[:start])} at its start")
    if end < len(key):
        problems.append(f"{_chars(key[end:])} at its end")
    inner = [(i, c) for i, c in enumerate(key[start:end], start) if _is_odd(c)]
    if inner:
        index, char = inner[0]
        more = f" ({len(inner)} such characters inside)" if len(inner) > 1 else ""
        problems.append(f"{_chars(char)} inside it, at character {index + 1}{more}")
    return problems


# h11 (under httpx) accepts a header value only in this shape; httpx encodes it as ASCII.
_HEADER_VALUE = re.compile(r"[^\x00\s]+(?:[ \t]+[^\x00\s]+)*", re.ASCII)


def _header_refused(key: str) -> bool:
    """Whether httpx refuses to build ``Authorization: Bearer <key>`` at all."""
    value = f"Bearer {key}"
    return not value.isascii() or _HEADER_VALUE.fullmatch(value) is None


def _consequence(key: str, refused: bool) -> str:
    if refused:
        return "the HTTP library refuses the header ('Illegal header value'), so no request leaves"
    if key.lower().startswith("bearer "):
        return "the client adds 'Bearer ' itself, so the API would reject the key"
    return "the header is sent, but the API rejects such a key (401)"
