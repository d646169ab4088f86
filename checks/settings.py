"""Settings checks: the profile and sources, the API URL, the API key."""

from __future__ import annotations

import re

from syntask_doctor import api_url as urls
from syntask_doctor import settings as names
from syntask_doctor.context import Context
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.registry import check
from syntask_doctor.secrets import mask_key

KEY_LENGTH = 40
KEY_BODY = re.compile(r"^[A-Za-z0-9]{36}$")
KEY_KINDS = {"pnu_": "user key", "pnb_": "service-account key"}
NEW_KEY = "Create a new key in the web UI (profile menu > API keys), then run `syntask cloud login --key <KEY>`"


@check("settings.profile", "Profiles file and setting sources")
def profile(ctx: Context) -> Outcome:
    s = ctx.settings
    looked = [_source_line(src.label, src.path, src.state, src.error) for src in s.sources]
    details = [
        f"profiles file: {s.profiles_path} (from {s.profiles_path_origin})",
        f"active profile: {s.profile!r} (chosen by {s.profile_origin})",
        "sources looked at, highest first:",
        *(f"  {line}" for line in looked),
    ]
    unknown = _unknown_keys(ctx)
    details += [
        f"unknown setting {key} in {where}" + (f": did you mean {hint}?" if hint else "")
        for key, where, hint in unknown
    ]
    data = {
        "profiles_path": str(s.profiles_path),
        "profile": s.profile,
        "profile_origin": s.profile_origin,
        "profiles": list(s.profile_names),
        "sources": [
            {"source": src.label, "path": src.path, "state": src.state} for src in s.sources
        ],
        "unknown_keys": [key for key, _, _ in unknown],
    }
    broken = [src for src in s.sources if src.state == "broken"]
    if broken:
        first = broken[0]
        return failed(
            f"{first.label} cannot be read: the Syntask client stops on it",
            *[src.error or "" for src in broken],
            *details,
            remedy=f"Fix or remove {first.path}; the client fails on every command until then",
            **data,
        )
    if s.profile_missing:
        return warned(
            f"Profile {s.profile_missing!r} (from {s.profile_origin}) does not exist; the client falls back to {s.profile!r}",
            *details,
            remedy=f"Use one of {', '.join(s.profile_names) or 'no profiles yet'}: `syntask profile use <name>`",
            **data,
        )
    typos = [(key, where, hint) for key, where, hint in unknown if hint]
    if typos:
        key, where, hint = typos[0]
        return warned(
            f"{key} in {where} is not a setting the client reads",
            *details,
            remedy=f"Rename it to {hint}",
            **data,
        )
    summary = f"Active profile {s.profile!r}" + (
        f" from {s.profiles_path}"
        if s.sources[-1].state == "read"
        else "; no profiles file (the client uses its defaults)"
    )
    return passed(summary, *details, **data)


def _source_line(label: str, path: str | None, state: str, error: str | None) -> str:
    where = f" {path}" if path else ""
    words = {"read": "read", "absent": "not present", "broken": f"broken: {error}"}[state]
    return f"{label}{where}: {words}"


def _unknown_keys(ctx: Context) -> list[tuple[str, str, str | None]]:
    found = []
    for src in ctx.settings.sources:
        for key in src.keys:
            if not names.is_known_setting(key):
                found.append((key, src.label, names.closest_setting(key)))
    return found


def _origin(ctx: Context, name: str) -> str:
    value = ctx.settings.values[name]
    where = value.source if value.source != "profile" else f"profile {ctx.settings.profile!r}"
    return where


@check("settings.api_url", "API URL")
def api_url(ctx: Context) -> Outcome:
    s = ctx.settings
    url = s.api_url
    origin = _origin(ctx, names.API_URL)
    cloud_root = s.cloud_api_url
    if url is None:
        return warned(
            "SYNTASK_API_URL is not set: the client will start a throw-away local server and reach no Cloud workspace",
            "looked in: "
            + ", ".join(
                f"{src.label}" + (f" ({src.path})" if src.path else "") for src in s.sources
            ),
            "the API key, if any, is then unused",
            remedy='Set it: `syntask config set SYNTASK_API_URL="https://api.syntask.cloud/api/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>"` or run `syntask cloud login`',
            url=None,
            kind="unset",
        )
    detail = f"SYNTASK_API_URL={url!r} (from {origin})"
    stripped = url.strip().strip("'\"").strip()
    if stripped != url:
        return failed(
            "SYNTASK_API_URL has stray quotes or whitespace around it",
            detail,
            remedy=f"Set it to exactly {stripped!r}",
            url=url,
            kind="malformed",
        )
    host = urls.host_of(url)
    if not host or not url.lower().startswith(("http://", "https://")):
        return failed(
            "SYNTASK_API_URL is not an http:// or https:// URL",
            detail,
            remedy="Copy the URL from the workspace settings, e.g. https://api.syntask.cloud/api/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>",
            url=url,
            kind="malformed",
        )
    ui_ids = urls.ui_workspace_ids(url)
    if host == urls.APP_HOST or (ui_ids and "/api/" not in url):
        if ui_ids:
            fixed = urls.workspace_api_url(cloud_root, ui_ids)
            return failed(
                "SYNTASK_API_URL is the web UI address, not the API address",
                detail,
                f"the API URL for this workspace is {fixed}",
                remedy=f'`syntask config set SYNTASK_API_URL="{fixed}"`',
                url=url,
                kind="web-ui",
                suggested=fixed,
            )
        return failed(
            "SYNTASK_API_URL points at the web UI host",
            detail,
            remedy="Use the API URL: https://api.syntask.cloud/api/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>",
            url=url,
            kind="web-ui",
        )
    cloud_host = urls.host_of(cloud_root)
    if host == cloud_host and not urls.is_cloud(url, cloud_root):
        if url.startswith("http://"):
            https = "https://" + url[len("http://") :]
            return failed(
                "SYNTASK_API_URL uses http:// for Syntask Cloud: Cloud needs https, and the key would travel unencrypted",
                detail,
                remedy=f'`syntask config set SYNTASK_API_URL="{https}"`',
                url=url,
                kind="cloud-http",
            )
    path = re.sub(r"/+$", "", re.sub(r"^[a-z]+://[^/]+", "", url))
    if re.search(r"/api/api(/|$)", path):
        fixed = url.replace("/api/api", "/api", 1)
        return failed(
            "SYNTASK_API_URL has /api twice",
            detail,
            remedy=f'`syntask config set SYNTASK_API_URL="{fixed}"`',
            url=url,
            kind="doubled-api",
        )
    if not re.search(r"(^|/)api(/|$)", path):
        fixed = url.rstrip("/") + "/api"
        return failed(
            "SYNTASK_API_URL lacks the /api path: every call would miss the API",
            detail,
            remedy=f'`syntask config set SYNTASK_API_URL="{fixed}"`'
            if host != cloud_host
            else "Use https://api.syntask.cloud/api/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>",
            url=url,
            kind="missing-api",
        )
    if urls.is_cloud(url, cloud_root):
        return _cloud_url(url, detail, cloud_root)
    if "/account/" in path or "/workspace/" in path:
        return failed(
            "SYNTASK_API_URL uses /account/ or /workspace/ (singular); the API uses /accounts/ and /workspaces/",
            detail,
            remedy=f'`syntask config set SYNTASK_API_URL="{url.replace("/account/", "/accounts/").replace("/workspace/", "/workspaces/")}"`',
            url=url,
            kind="singular",
        )
    note = (
        "plain http on loopback is fine"
        if url.startswith("http://") and urls.is_loopback(host)
        else None
    )
    if url.startswith("http://") and not urls.is_loopback(host):
        return warned(
            f"Self-hosted server at {host} over plain http: traffic, including any key, is unencrypted",
            detail,
            remedy="Serve the API over https, or reach it through a loopback tunnel",
            url=url,
            kind="self-hosted",
        )
    return passed(
        f"Self-hosted server at {url}",
        detail,
        *([note] if note else []),
        url=url,
        kind="self-hosted",
    )


def _cloud_url(url: str, detail: str, cloud_root: str) -> Outcome:
    rest = url[len(cloud_root.rstrip("/")) :]
    if re.match(r"^/account/|.*/workspace/", rest):
        fixed = url.replace("/account/", "/accounts/").replace("/workspace/", "/workspaces/")
        return failed(
            "SYNTASK_API_URL uses /account/ or /workspace/ (singular); the API uses /accounts/ and /workspaces/",
            detail,
            remedy=f'`syntask config set SYNTASK_API_URL="{fixed}"`',
            url=url,
            kind="singular",
        )
    ids = urls.workspace_ids(url)
    if ids is None:
        return failed(
            "SYNTASK_API_URL is a Cloud URL but not a workspace URL",
            detail,
            "expected: https://api.syntask.cloud/api/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>",
            remedy="Run `syntask cloud login` or `syntask cloud workspace set`, which write the right URL",
            url=url,
            kind="cloud-not-workspace",
        )
    bad = [
        f"{what} id {value!r}"
        for what, value in (("account", ids.account), ("workspace", ids.workspace))
        if not urls.is_uuid(value)
    ]
    if bad:
        return failed(
            f"SYNTASK_API_URL holds ids that are not UUIDs: {', '.join(bad)}",
            detail,
            "ids look like 0f3c1a2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b; handles such as 'my-team' go with `syntask cloud workspace set`",
            remedy='Run `syntask cloud workspace set --workspace "<account-handle>/<workspace-handle>"`',
            url=url,
            kind="cloud-bad-ids",
        )
    if url.endswith("/"):
        return warned(
            "SYNTASK_API_URL ends with a slash",
            detail,
            remedy=f'`syntask config set SYNTASK_API_URL="{url.rstrip("/")}"`',
            url=url,
            kind="cloud",
        )
    return passed(
        "Syntask Cloud workspace URL",
        detail,
        f"account {ids.account}, workspace {ids.workspace}",
        url=url,
        kind="cloud",
        account_id=ids.account,
        workspace_id=ids.workspace,
    )


@check("settings.api_key", "API key")
def api_key(ctx: Context) -> Outcome:
    s = ctx.settings
    value = s.values[names.API_KEY]
    key = value.value
    url = s.api_url
    cloud = bool(url) and urls.is_cloud(url or "", s.cloud_api_url)
    origin = _origin(ctx, names.API_KEY)
    shadowed = [
        f"it overrides the key in {src}" + (f" ({mask_key(v)})" if v else " (empty)")
        for src, v in value.shadowed
    ]
    data = {
        "present": key is not None,
        "source": origin,
        "masked": mask_key(key),
        "length": len(key) if key else 0,
    }
    if key is None:
        if cloud:
            return failed(
                "No API key is set, and Syntask Cloud needs one",
                f"SYNTASK_API_URL is a Cloud URL ({url})",
                remedy="Run `syntask cloud login`, or set SYNTASK_API_KEY to a key made in the web UI",
                **data,
            )
        if url is None:
            return skipped("No API key and no API URL: nothing to authenticate against", **data)
        return passed("No API key: a self-hosted server needs none", **data)
    if key == "":
        details = [f"SYNTASK_API_KEY is set to an empty string in {origin}", *shadowed]
        hides = " and hides the key below it" if value.shadowed else ""
        fix = (
            "`unset SYNTASK_API_KEY`"
            if origin == "env"
            else f"remove the empty SYNTASK_API_KEY from {origin}"
        )
        if cloud or value.shadowed:
            return failed(
                f"SYNTASK_API_KEY is empty{hides}: no Authorization header is sent",
                *details,
                remedy=f"{fix.capitalize() if fix[0] != '`' else fix}, or set a valid key",
                **data,
            )
        return warned("SYNTASK_API_KEY is set but empty", *details, remedy=fix, **data)
    masked = mask_key(key) or ""
    where = f"{masked} (from {origin})"
    problems = _character_problems(key)
    if problems:
        clean = key.strip().strip("'\"").strip()
        return failed(
            f"The API key has {problems[0]}: the HTTP library refuses it ('Illegal header value') and no request leaves the machine",
            f"key {where}",
            *problems[1:],
            *shadowed,
            remedy="Set the key again without the extra characters (with `printf '%s'`, not `echo`, when it comes from a secret store)"
            + (f": its cleaned form ends in ...{clean[-4:]}" if clean else ""),
            **data,
        )
    if not cloud and url is not None:
        return passed(f"API key {where}; a self-hosted server does not need it", *shadowed, **data)
    prefix = key[:4]
    if prefix in KEY_KINDS:
        kind = KEY_KINDS[prefix]
        if len(key) != KEY_LENGTH or not KEY_BODY.match(key[4:]):
            return warned(
                f"The {kind} {masked} has {len(key)} characters where Syntask keys have {KEY_LENGTH}: probably cut off or pasted with extra text",
                f"key {where}",
                *shadowed,
                remedy="Copy the key again from where it was created, whole",
                kind=kind,
                **data,
            )
        return passed(f"{kind.capitalize()} {where}", *shadowed, kind=kind, **data)
    if key.startswith("pcu"):
        return warned(
            f"The key {masked} is from the previous product generation (pcu), not a Syntask Cloud key",
            f"key {where}",
            "Syntask Cloud keys start with pnu_ (user) or pnb_ (service account)",
            *shadowed,
            remedy=NEW_KEY,
            kind="legacy",
            **data,
        )
    return warned(
        f"The key {masked} has no known prefix: Syntask Cloud keys start with pnu_ (user) or pnb_ (service account)",
        f"key {where}",
        *shadowed,
        remedy=NEW_KEY,
        kind="unknown",
        **data,
    )


def _character_problems(key: str) -> list[str]:
    problems = []
    if key != key.lstrip():
        problems.append("whitespace at its start")
    if key != key.rstrip():
        tail = repr(key[len(key.rstrip()) :])
        problems.append(f"whitespace at its end ({tail}, as `echo` leaves)")
    inner = key.strip()
    for index, char in enumerate(inner):
        if char in "'\"":
            problems.append(f"a quote character at position {index + 1}")
            break
    for index, char in enumerate(inner):
        if char.isspace() or ord(char) < 32 or ord(char) == 127:
            problems.append(f"a control or space character {char!r} at position {index + 1}")
            break
    return problems
