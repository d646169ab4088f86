"""Keep secrets out of everything the doctor shows: masking for display and a final scrub."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

KEY_PREFIXES = ("pnu_", "pnb_", "pcu_", "pcu")
_MASK = "****"

# Shapes that are secrets wherever they appear, whoever put them there.
_SHAPES = (
    re.compile(r"\b(pn[ub]_)[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)\b((?:proxy-)?authorization:\s*\w+\s+)\S+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # The look-behind lets a scheme start only where a word starts: without it, every letter
    # of a long value would start a new scan, and the scrub would take minutes on 70 kB.
    re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(@)"),
)
_PEM_KEY = re.compile(
    r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)


def mask_key(key: str | None) -> str | None:
    """Show a key as its prefix and last four characters, never more."""
    if key is None:
        return None
    stripped = key.strip()
    if len(stripped) <= 8:
        return _MASK if stripped else ""
    prefix = next((p for p in KEY_PREFIXES if stripped.startswith(p)), "")
    return f"{prefix}{_MASK}{stripped[-4:]}"


def _userinfo(value: str) -> tuple[str, str, str | None, str] | None:
    """Split a URL, with or without scheme, at the last ``@``: (scheme://, user, password, rest).

    The password is ``None`` when there is no ``:`` in the user information.

    Cutting at the last ``@`` rather than parsing keeps an unencoded ``#``, ``/`` or ``?`` in a
    password from ending the user information early and leaking the rest.
    """
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return None
    user, colon, password = userinfo.partition(":")
    return f"{scheme}{sep}", user, password if colon else None, host


def mask_url(url: str) -> str:
    """Hide the password of a URL such as a proxy address, keeping the user name.

    A user name alone is often a token (``http://TOKEN@proxy``), so it is hidden too.
    """
    parts = _userinfo(url)
    if parts is None:
        return url
    prefix, user, password, host = parts
    shown = _MASK if password is None else f"{user}:{_MASK}"
    return f"{prefix}{shown}@{host}"


def mask_urls_in(text: str) -> str:
    """Hide the password of every URL written inside a longer text, such as an error."""
    return _SHAPES[3].sub(rf"\1{_MASK}\2", text)


def secret_values(env: Mapping[str, str], extra: Iterable[str | None] = ()) -> set[str]:
    """Every secret the environment and settings hold: keys, tokens, proxy passwords."""
    found: set[str] = set()
    for name, value in env.items():
        upper = name.upper()
        if upper.endswith(("_KEY", "_TOKEN", "_PASSWORD", "_SECRET", "AUTH_STRING")):
            found.add(value.strip())
        if upper.endswith("_PROXY"):
            found.update(_url_secrets(value))
    found.update(item.strip() for item in extra if item)
    return {s for s in found if len(s) >= 4}


def _url_secrets(url: str) -> set[str]:
    parts = _userinfo(url)
    if parts is None:
        return set()
    _, user, password, _ = parts
    secrets = {password} if password is not None else {user}
    return {s for s in secrets if s} | {unquote(s) for s in secrets if s}


class Scrubber:
    """Replaces known secret values and secret-shaped text in rendered output."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = _PEM_KEY.sub("-----BEGIN PRIVATE KEY-----\n****\n-----END PRIVATE KEY-----", text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, mask_key(secret) or _MASK)
        for shape in _SHAPES:
            text = shape.sub(rf"\1{_MASK}" + (r"\2" if shape.groups > 1 else ""), text)
        return text
