"""API checks: the workspace answers, the key is accepted, the key sees the workspace."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from syntask_doctor import api_url as urls
from syntask_doctor import clients, trust
from syntask_doctor.context import Context
from syntask_doctor.guard import refuse_key
from syntask_doctor.hosts import hosts_for
from syntask_doctor.model import Outcome, failed, passed, skipped, warned
from syntask_doctor.probe import Probe, fetch
from syntask_doctor.registry import Check, provider
from syntask_doctor.secrets import mask_key
from syntask_doctor.settings import Settings

NEW_KEY = "Create a new key in the web UI (profile menu > API keys), then `syntask cloud login --key <KEY>`"


def _host_check(settings: Settings, url: str | None) -> tuple[str, ...]:
    host = urls.host_of(url or "")
    return tuple(h.check_id for h in hosts_for(settings) if h.name == host)


@provider
def api_checks(settings: Settings) -> Iterable[Check]:
    cloud_host = _host_check(settings, settings.cloud_api_url)
    yield Check(
        "api.reach",
        "API health endpoint",
        reach,
        _host_check(settings, settings.api_url),
        network=True,
    )
    yield Check(
        "api.auth", "API key accepted", auth, ("settings.api_key", *cloud_host), network=True
    )
    yield Check(
        "api.workspace", "Workspace visible to the key", workspace, ("api.auth",), network=True
    )


def _is_cloud(ctx: Context) -> bool:
    url = ctx.settings.api_url
    return url is not None and urls.is_cloud(url, ctx.settings.cloud_api_url)


def _auth_headers(ctx: Context, url: str, verified: bool) -> tuple[dict[str, str], str | None]:
    key = ctx.settings.api_key
    if not key:
        return {}, None
    allowed = {
        h
        for h in (
            urls.host_of(ctx.settings.api_url or ""),
            urls.host_of(ctx.settings.cloud_api_url),
        )
        if h
    }
    refusal = refuse_key(url, allowed, verified)
    if refusal:
        return {}, f"the key was not sent: {refusal}"
    return {"Authorization": f"Bearer {key.strip()}"}, None


def _html_title(body: bytes) -> str | None:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    return match.group(1).decode("utf-8", "replace").strip() if match else None


def _looks_html(probe: Probe) -> bool:
    answer = probe.answer
    assert answer is not None
    return answer.content_type in ("text/html", "application/xhtml+xml") or answer.body.lstrip()[
        :15
    ].lower().startswith((b"<!doctype html", b"<html"))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def reach(ctx: Context) -> Outcome:
    api_url = ctx.settings.api_url
    if not api_url or urls.host_of(api_url.strip()) is None:
        return skipped("No usable API URL to probe (see settings.api_url)")
    url = api_url.strip().rstrip("/") + "/health"
    timeout = ctx.step_timeout()
    verified = not trust.verification_disabled(ctx.settings)
    headers, note = _auth_headers(ctx, url, verified)
    route = ctx.proxies.route(url)
    try:
        probe = fetch(
            lambda: clients.workspace_client(ctx.settings, timeout), url, route, timeout, headers
        )
    except clients.ClientSetupError as exc:
        return failed(f"The workspace client cannot be created: {exc}")
    details = [f"GET {url} ({route.shown})", *([note] if note else [])]
    data: dict[str, Any] = {"url": url, "route": route.shown, "key_sent": bool(headers)}
    if probe.answer is None:
        return failed(
            f"No answer from the API at the {probe.failed_layer} layer: {probe.error}",
            *details,
            remedy="See the host checks for the layer that fails",
            **data,
        )
    answer = probe.answer
    data.update(status_code=answer.status, content_type=answer.content_type)
    details.append(
        f"HTTP {answer.status} {answer.reason}, {answer.content_type or 'no content type'}"
    )
    if 300 <= answer.status < 400:
        location = answer.headers.get("location", "(no Location header)")
        data["location"] = location
        return warned(
            f"The API answers with a redirect ({answer.status}) to {location}: the client does not follow it for every call, and request bodies get lost",
            *details,
            remedy=f"Set SYNTASK_API_URL to the final address, or fix the reverse proxy that redirects: {location}",
            **data,
        )
    if _looks_html(probe):
        title = _html_title(answer.body)
        data["html_title"] = title
        return failed(
            f"HTML came back where the API answers JSON (HTTP {answer.status}{f', page title {title!r}' if title else ''}): this URL is not the Syntask API",
            *details,
            remedy="Check SYNTASK_API_URL (see settings.api_url); a sign-in page means an access gateway sits in the way",
            **data,
        )
    if answer.status in (401, 403):
        return failed(
            f"The API refused the request (HTTP {answer.status}): see api.auth", *details, **data
        )
    if answer.status == 404 and _is_cloud(ctx):
        return failed(
            "HTTP 404: the workspace in SYNTASK_API_URL does not exist or the key is not a member (see api.workspace)",
            *details,
            **data,
        )
    if answer.status in (404, 405):
        return failed(
            f"HTTP {answer.status} from {url}: there is no Syntask API at this URL",
            *details,
            remedy="Check the path of SYNTASK_API_URL: it must end in /api (self-hosted) or /api/accounts/<A>/workspaces/<W> (Cloud)",
            **data,
        )
    if answer.status == 429:
        return warned(
            f"Rate limited (HTTP 429); retry after {answer.headers.get('retry-after', 'a while')} s",
            *details,
            **data,
        )
    if answer.status >= 400:
        return failed(f"The API answered HTTP {answer.status} {answer.reason}", *details, **data)
    if answer.content_type != "application/json" or _json(answer.body) is None:
        return failed(
            f"HTTP {answer.status}, but not a JSON answer: something other than the Syntask API answered",
            *details,
            remedy="Check SYNTASK_API_URL and any gateway in the way",
            **data,
        )
    return passed(
        f"The API answered its health check (HTTP {answer.status}, {_elapsed(probe)})",
        *details,
        **data,
    )


def _elapsed(probe: Probe) -> str:
    return f"{sum(layer.seconds for layer in probe.layers):.2f} s"


def auth(ctx: Context) -> Outcome:
    s = ctx.settings
    if not _is_cloud(ctx):
        return skipped("Not a Syntask Cloud URL: a self-hosted server has no key to check")
    key = s.api_key
    if not key:
        return skipped("No API key to check (see settings.api_key)")
    url = s.cloud_api_url.rstrip("/") + "/me/workspaces"
    timeout = ctx.step_timeout()
    source = trust.login_source(ctx.env)
    headers, note = _auth_headers(ctx, url, True)
    if note:
        return warned(f"Key not checked: {note}", remedy="Use an https:// Cloud API URL")
    route = ctx.proxies.route(url)
    try:
        probe = fetch(lambda: clients.login_client(source, timeout), url, route, timeout, headers)
    except clients.ClientSetupError as exc:
        return failed(f"The login client cannot be created: {exc}")
    origin = s.source_of("SYNTASK_API_KEY")
    origin = f"profile {s.profile!r}" if origin == "profile" else origin
    shown = f"{mask_key(key)} (from {origin})"
    details = [f"GET {url} as `syntask cloud login` does ({route.shown})", f"key {shown}"]
    data: dict[str, Any] = {"url": url, "key": mask_key(key), "key_source": origin}
    if probe.answer is None:
        return failed(
            f"Could not reach the Cloud API to check the key: {probe.error} (a network problem, not an authentication one)",
            *details,
            remedy="See the host checks for the failing layer",
            **data,
        )
    answer = probe.answer
    data["status_code"] = answer.status
    if answer.status == 401:
        return failed(
            f"The key {shown} was rejected (HTTP 401): it is wrong, expired or revoked",
            *details,
            "keys made by browser login expire after 30 days",
            remedy=NEW_KEY,
            **data,
        )
    if answer.status == 403:
        return failed(
            "The API forbids this request (HTTP 403): an IP allow-list, private-link enforcement or the role of the key",
            *details,
            remedy="Ask a workspace admin to allow this network's address or grant the key a role",
            **data,
        )
    if answer.status == 429:
        wait = answer.headers.get("retry-after", "unknown")
        return warned(
            f"Rate limited (HTTP 429), retry after {wait} s: the key is not known to be bad",
            *details,
            retry_after=wait,
            **data,
        )
    listing = _json(answer.body)
    if answer.status != 200 or not isinstance(listing, list):
        return failed(
            f"Unexpected answer from the Cloud API: HTTP {answer.status}, {answer.content_type}",
            *details,
            **data,
        )
    workspaces = [
        _workspace_entry(item, s.cloud_api_url) for item in listing if isinstance(item, dict)
    ]
    data["workspaces"] = workspaces
    return passed(f"Key {shown} accepted; it sees {len(workspaces)} workspace(s)", *details, **data)


def _workspace_entry(item: dict[str, Any], cloud_root: str) -> dict[str, str]:
    account = str(item.get("account_id", ""))
    workspace_id = str(item.get("workspace_id", ""))
    return {
        "handle": f"{item.get('account_handle', '?')}/{item.get('workspace_handle', '?')}",
        "account_id": account,
        "workspace_id": workspace_id,
        "url": urls.workspace_api_url(cloud_root, urls.WorkspaceIds(account, workspace_id)),
    }


def workspace(ctx: Context) -> Outcome:
    url = ctx.settings.api_url
    ids = urls.workspace_ids(url or "") if _is_cloud(ctx) else None
    if ids is None:
        return skipped("SYNTASK_API_URL names no Cloud workspace")
    earlier = ctx.result("api.auth")
    visible: list[dict[str, str]] = (
        list(earlier.outcome.data.get("workspaces", [])) if earlier else []
    )
    match = next(
        (
            w
            for w in visible
            if w["account_id"] == ids.account and w["workspace_id"] == ids.workspace
        ),
        None,
    )
    if match:
        return passed(
            f"Workspace {match['handle']} is visible to the key",
            f"URL: {match['url']}",
            handle=match["handle"],
        )
    lines = [f"  {w['handle']}: {w['url']}" for w in visible]
    return failed(
        f"The key cannot see workspace {ids.workspace} (account {ids.account}): wrong ids, or the key is not a member",
        "workspaces this key can see:" if visible else "this key sees no workspace at all",
        *lines,
        remedy=(
            f'`syntask config set SYNTASK_API_URL="{visible[0]["url"]}"`, or ask to be added to the workspace'
            if visible
            else "Ask a workspace admin to add this key's user or service account"
        ),
        visible=visible,
    )
