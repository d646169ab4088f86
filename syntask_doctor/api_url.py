"""What kind of API URL the client was given: Cloud workspace, self-hosted, or a mistake.

Everything here works on the text of the URL alone and makes no network call.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

APP_HOST = "app.syntask.cloud"
"""The web UI's host: an address copied from the browser starts with it."""

WORKSPACE_TEMPLATE = "{root}/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>"

_WORKSPACE_PATH = re.compile(r"/accounts/(?P<account>[^/]+)/workspaces/(?P<workspace>[^/]+)/?$")
_WORKSPACE_REST = re.compile(
    r"/accounts/(?P<account>[^/]+)/workspaces/(?P<workspace>[^/]+)(?P<extra>/.*)?"
)
_UI_PATH = re.compile(r"/account/(?P<account>[^/]+)/workspace/(?P<workspace>[^/]+)")
# First path segments of pages in a self-hosted server's web UI, which lives next to /api.
_UI_PAGES = frozenset(
    {"dashboard", "runs", "flows", "deployments", "work-pools", "blocks", "variables",
     "automations", "events", "artifacts", "concurrency", "settings", "flow-runs"}
)  # fmt: skip


@dataclass(frozen=True)
class WorkspaceIds:
    account: str
    workspace: str


def is_cloud(url: str, cloud_api_url: str) -> bool:
    """The client's own test: a plain string prefix of the Cloud API root."""
    return url.startswith(cloud_api_url)


def workspace_ids(url: str) -> WorkspaceIds | None:
    """The account and workspace ids of a Cloud workspace API URL, if it has that shape."""
    match = _WORKSPACE_PATH.search(_path(url))
    return WorkspaceIds(match["account"], match["workspace"]) if match else None


def ui_workspace_ids(url: str) -> WorkspaceIds | None:
    """The ids inside a web-UI address such as ``/account/<A>/workspace/<W>/dashboard``."""
    match = _UI_PATH.search(_path(url))
    return WorkspaceIds(match["account"], match["workspace"]) if match else None


def workspace_api_url(cloud_api_url: str, ids: WorkspaceIds) -> str:
    return f"{cloud_api_url.rstrip('/')}/accounts/{ids.account}/workspaces/{ids.workspace}"


def is_uuid(text: str) -> bool:
    """A UUID written as the client writes it: 36 characters with hyphens."""
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def host_of(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an API URL, worded to follow "SYNTASK_API_URL ..."."""

    code: str
    """Stable name for the JSON report, such as ``web-ui`` or ``missing-api``."""
    text: str
    blocking: bool = True
    """``False`` for a risk the client survives, such as plain http on a private network."""


Kind = Literal["cloud", "self-hosted", "invalid"]


@dataclass(frozen=True)
class Diagnosis:
    """What an API URL is, what is wrong with it, and the corrected URL when one follows."""

    kind: Kind
    problems: tuple[Problem, ...]
    suggested: str | None
    """The URL with every problem fixed; ``None`` when a fix needs facts the URL lacks."""
    ids: WorkspaceIds | None = None


class _Examiner:
    """Walks a URL through the client's rules, repairing what can be repaired as it goes."""

    def __init__(self, url: str, cloud_api_url: str) -> None:
        self.original = url
        self.text = url
        self.root = cloud_api_url.rstrip("/")
        self.problems: list[Problem] = []
        self.fixable = True

    def add(self, code: str, text: str, blocking: bool = True, fixed: str | None = None) -> None:
        self.problems.append(Problem(code, text, blocking))
        if fixed is None:
            self.fixable = self.fixable and not blocking
        else:
            self.text = fixed

    def done(self, kind: Kind, ids: WorkspaceIds | None = None) -> Diagnosis:
        changed = self.text != self.original
        suggested = self.text if changed and self.fixable and kind != "invalid" else None
        return Diagnosis(kind, tuple(self.problems), suggested, ids)


def examine(url: str, cloud_api_url: str) -> Diagnosis:
    """Everything wrong with ``url`` as the client's API URL, most fundamental first."""
    check = _Examiner(url, cloud_api_url)
    _wrapping(check)
    parts = _parse(check)
    if parts is None:
        return check.done("invalid")
    cloud = _split(cloud_api_url)
    cloud_host = (cloud.hostname, cloud.port) if cloud else (None, None)
    on_cloud_host = (parts.hostname, parts.port) == cloud_host
    ui_ids = ui_workspace_ids(check.text)
    if parts.hostname == APP_HOST or (ui_ids and "api" not in _segments(parts.path)):
        if ui_ids is None:
            check.add("web-ui", f"is a web UI address ({APP_HOST}) with no workspace ids in it")
            return check.done("cloud")
        what = (
            "is the web UI address (copied from the browser), not the API address"
            if parts.hostname == APP_HOST
            else "has the web UI's path (/account/.../workspace/...), not the API's"
        )
        check.add("web-ui", what, fixed=workspace_api_url(cloud_api_url, ui_ids))
        return _cloud(check)
    if on_cloud_host and parts.scheme == "http" and cloud and cloud.scheme == "https":
        check.add(
            "cloud-http",
            "uses http:// for Syntask Cloud: Cloud needs https://, and the key would travel"
            " unencrypted before any redirect",
            fixed="https" + check.text[check.text.index(":") :],
        )
    _api_segment(check, on_cloud_host)
    if on_cloud_host or is_cloud(check.text, check.root):
        return _cloud(check)
    return _self_hosted(check, parts)


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port only raises when read
    except ValueError:
        return None
    return parts


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _wrapping(check: _Examiner) -> None:
    text = check.text
    clean = text.strip().strip("'\"").strip()
    if clean != text:
        start = text.find(clean)
        before, after = text[:start], text[start + len(clean) :]
        wrapping = before + after
        what = [
            *(["quotes"] if any(q in wrapping for q in "'\"") else []),
            *(["whitespace"] if any(c.isspace() for c in wrapping) else []),
        ]
        # Show only the wrapping, never the URL: it may hold a password.
        where = " and ".join(
            f"{part!r} {side}" for part, side in ((before, "before"), (after, "after")) if part
        )
        check.add("wrapped", f"has {' and '.join(what)} around it ({where})", fixed=clean)
    junk = next((c for c in clean if c.isspace() or ord(c) < 32 or ord(c) == 127), None)
    if junk is not None:
        position = clean.index(junk) + 1
        check.add("inner-junk", f"contains {junk!r} at character {position}: URLs have none")


def _parse(check: _Examiner) -> SplitResult | None:
    if "://" not in check.text:
        bare = host_of(f"http://{check.text}")
        if bare in (APP_HOST, host_of(check.root)):
            check.add("no-scheme", "has no https:// in front", fixed=f"https://{check.text}")
        elif is_loopback(bare):
            check.add("no-scheme", "has no http:// in front", fixed=f"http://{check.text}")
        else:
            check.add("not-http", "has no http:// or https:// in front")
            return None
    parts = _split(check.text)
    if parts is None:
        check.add("not-http", "cannot be read as a URL (bad host or port)")
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        check.add("not-http", "is not an http:// or https:// URL with a host")
        return None
    return parts


def _api_segment(check: _Examiner, on_cloud_host: bool) -> None:
    """``/api`` doubled, or missing: the client puts its own paths right after the URL."""
    parts = urlsplit(check.text)
    path = re.sub(r"(/api){2,}(?=/|$)", "/api", parts.path)
    if path != parts.path:
        fixed = parts._replace(path=path).geturl()
        check.add(
            "doubled-api", "has /api twice: every call goes to a path the server lacks", fixed=fixed
        )
        return
    segments = _segments(path)
    if "api" in segments:
        return
    if on_cloud_host:
        fixed = check.root + (path.rstrip("/"))
    elif not segments or segments[0] in _UI_PAGES:
        fixed = parts._replace(path="/api", query="", fragment="").geturl()
    else:
        fixed = check.text.rstrip("/") + "/api"
    check.add(
        "missing-api", "lacks the /api path: every call reaches a web page or a 404", fixed=fixed
    )


def _cloud(check: _Examiner) -> Diagnosis:
    template = WORKSPACE_TEMPLATE.format(root=check.root)
    if not is_cloud(check.text, check.root):
        check.add("not-workspace", f"is on the Cloud API host but not a workspace URL ({template})")
        return check.done("cloud")
    rest = check.text[len(check.root) :]
    segments = rest.split("/")
    plural = "/".join(
        {"account": "accounts", "workspace": "workspaces"}.get(s, s) for s in segments
    )
    if plural != rest:
        check.add(
            "singular",
            "says /account/ or /workspace/ (singular, as in the web UI); the API uses"
            " /accounts/ and /workspaces/",
            fixed=check.root + plural,
        )
        rest = plural
    match = _WORKSPACE_REST.fullmatch(rest)
    if match is None:
        check.add("not-workspace", f"is the Cloud API root, not a workspace URL ({template})")
        return check.done("cloud")
    ids = WorkspaceIds(match["account"], match["workspace"])
    extra = match["extra"] or ""
    base = workspace_api_url(check.root, ids)
    if extra == "/":
        check.add(
            "trailing-slash", "ends with a slash, which the client's own URL lacks", False, base
        )
    elif extra:
        check.add("extra-path", f"goes on after the workspace id ({extra})", fixed=base)
    named = (("account", ids.account), ("workspace", ids.workspace))
    bad = [f"{what} id {value!r}" for what, value in named if not is_uuid(value)]
    if bad:
        check.add(
            "not-uuid",
            f"holds {' and '.join(bad)}, which {'is' if len(bad) == 1 else 'are'} not a UUID"
            " (handles such as 'my-team' are not ids)",
        )
    return check.done("cloud", ids)


def _self_hosted(check: _Examiner, parts: SplitResult) -> Diagnosis:
    if workspace_ids(check.text):
        check.add(
            "cloud-shape",
            "has a Cloud workspace path but does not start with SYNTASK_CLOUD_API_URL"
            f" ({check.root}), so the client treats it as a self-hosted server",
            blocking=False,
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        check.add(
            "plain-http",
            f"uses plain http:// to {parts.hostname}: everything sent, a key included,"
            " crosses the network unencrypted",
            blocking=False,
        )
    return check.done("self-hosted")
