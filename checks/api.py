"""API checks: the workspace answers, the key is accepted, the key sees the workspace.

The key goes only to the configured API hosts, over TLS whose certificate is verified
(plain http only on this machine): ``syntask_doctor.guard`` decides, per request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from syntask_doctor import api_url as urls
from syntask_doctor import clients, trust
from syntask_doctor.answers import API_SHAPE, html_page, not_api
from syntask_doctor.context import Context
from syntask_doctor.guard import refuse_key
from syntask_doctor.hosts import hosts_for
from syntask_doctor.model import Outcome, Status, failed, passed, skipped, warned
from syntask_doctor.probe import Answer, fetch, limits
from syntask_doctor.registry import Check, provider
from syntask_doctor.routes import Route
from syntask_doctor.secrets import mask_key
from syntask_doctor.settings import API_KEY, Settings

NEW_KEY = (
    "Create a new key in the web UI (profile menu > API keys), then run"
    " `syntask cloud login --key <KEY>` (or set SYNTASK_API_KEY where the old one was set)"
)
CLOUD_PREFIXES = ("pnu_", "pnb_")


def _host_check(settings: Settings, url: str | None) -> tuple[str, ...]:
    host = urls.host_of((url or "").strip())
    return tuple(h.check_id for h in hosts_for(settings) if h.name == host)


@provider
def api_checks(settings: Settings) -> Iterable[Check]:
    cloud_host = _host_check(settings, settings.cloud_api_url)
    api_host = _host_check(settings, settings.api_url)
    yield Check("api.reach", "API health endpoint", reach, api_host, network=True)
    yield Check(
        "api.auth", "API key accepted", auth, ("settings.api_key", *cloud_host), network=True
    )
    yield Check(
        "api.workspace", "Workspace visible to the key", workspace, ("api.auth",), network=True
    )


def _is_cloud(ctx: Context) -> bool:
    url = ctx.settings.api_url
    return url is not None and urls.is_cloud(url.strip(), ctx.settings.cloud_api_url)


def _auth_headers(
    ctx: Context, url: str, route: Route, verified: bool
) -> tuple[dict[str, str], str | None]:
    """The Authorization header for ``url``, or why the key is kept back."""
    key = (ctx.settings.api_key or "").strip()
    if not key:
        return {}, None
    if not all(33 <= ord(char) < 127 for char in key):
        return {}, "the key was not sent: it holds characters an HTTP header cannot carry"
    allowed = {
        host
        for host in (
            urls.host_of((ctx.settings.api_url or "").strip()),
            urls.host_of(ctx.settings.cloud_api_url),
        )
        if host
    }
    refusal = refuse_key(url, allowed, verified, route.proxy)
    if refusal:
        return {}, f"the key was not sent: {refusal}"
    return {"Authorization": f"Bearer {key}"}, None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # a server may send anything, nested without end
        return None


def reach(ctx: Context) -> Outcome:
    api_url = (ctx.settings.api_url or "").strip()
    if not api_url or urls.host_of(api_url) is None:
        return skipped("No usable API URL to probe (see settings.api_url)")
    url = api_url.rstrip("/") + "/health"
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    route = ctx.proxies.route(url)
    verified = not trust.verification_disabled(ctx.settings)
    headers, note = _auth_headers(ctx, url, route, verified)
    try:
        probe = fetch(
            lambda: clients.workspace_client(ctx.settings, timeout),
            url,
            route,
            timeout,
            headers,
            budget=budget,
        )
    except clients.ClientSetupError as exc:
        return failed(f"The workspace client cannot be created: {exc}")
    details = [f"GET {url} ({route.shown})", *([note] if note else [])]
    data: dict[str, Any] = {"url": url, "route": route.shown, "key_sent": bool(headers)}
    if probe.answer is None or probe.error is not None:
        data.update(failed_layer=probe.failed_layer, cause=probe.cause)
        return failed(
            f"No answer from the API, {probe.failed_layer} layer: {probe.error}",
            *details,
            remedy="See the host checks for the layer that fails",
            **data,
        )
    answer = probe.answer
    data.update(status_code=answer.status, content_type=answer.content_type)
    details.append(f"HTTP {answer.status} {answer.reason}, {answer.content_type or 'no type'}")
    verdict = not_api(url, answer, data, details) or _refused(ctx, answer, note, details, data)
    if verdict is not None:
        return verdict
    if answer.content_type != "application/json" or _json(answer.body) is None:
        return failed(
            f"HTTP {answer.status}, but not a JSON answer: something other than the Syntask API"
            " answered",
            *details,
            remedy="Check SYNTASK_API_URL and any gateway in the way",
            **data,
        )
    return passed(
        f"The API answered its health check (HTTP {answer.status}, {probe.seconds:.2f} s)",
        *details,
        **data,
    )


def _refused(
    ctx: Context, answer: Answer, note: str | None, details: list[str], data: dict[str, Any]
) -> Outcome | None:
    """Error statuses of the health endpoint, in words."""
    status = answer.status
    if status in (401, 403):
        why = f" ({note})" if note else ""
        return failed(
            f"The API refused the request (HTTP {status}){why}: see api.auth", *details, **data
        )
    if status == 404 and _is_cloud(ctx):
        return failed(
            "HTTP 404: the workspace in SYNTASK_API_URL does not exist or the key is not a"
            " member of it (see api.workspace)",
            *details,
            **data,
        )
    if status in (404, 405):
        return failed(
            f"HTTP {status} from the health endpoint: there is no Syntask API at this URL",
            *details,
            remedy=API_SHAPE,
            **data,
        )
    if status == 429:
        wait = answer.headers.get("retry-after", "unknown")
        return warned(
            f"Rate limited (HTTP 429); retry after {wait} s", *details, retry_after=wait, **data
        )
    if status >= 400:
        return failed(f"The API answered HTTP {status} {answer.reason}", *details, **data)
    return None


def auth(ctx: Context) -> Outcome:
    s = ctx.settings
    if not _is_cloud(ctx):
        return skipped("Not a Syntask Cloud URL: a self-hosted server has no key to check")
    key = s.api_key
    if not key or not key.strip():
        return skipped("No API key to check (see settings.api_key)")
    url = s.cloud_api_url.rstrip("/") + "/me/workspaces"
    timeout, budget = limits(ctx.step_timeout(), ctx.remaining())
    route = ctx.proxies.route(url)
    # The login client ignores SYNTASK_API_TLS_INSECURE_SKIP_VERIFY: it always verifies.
    headers, note = _auth_headers(ctx, url, route, verified=True)
    if note:
        return warned(f"Key not checked: {note}", remedy="Use an https:// Cloud API URL")
    source = trust.login_source(ctx.env)
    try:
        probe = fetch(
            lambda: clients.login_client(source, timeout),
            url,
            route,
            timeout,
            headers,
            budget=budget,
        )
    except clients.ClientSetupError as exc:
        return failed(f"The login client cannot be created: {exc}")
    origin = s.describe(s.source_of(API_KEY))
    shown = f"{mask_key(key)} (from {origin})"
    details = [f"GET {url} as `syntask cloud login` does ({route.shown})", f"key {shown}"]
    if not key.strip().startswith(CLOUD_PREFIXES):
        details.append(
            "its prefix is not pnu_ (user) or pnb_ (service account): not a Syntask Cloud key"
        )
    data: dict[str, Any] = {"url": url, "key": mask_key(key), "key_source": origin}
    if probe.answer is None or probe.error is not None:
        data.update(failed_layer=probe.failed_layer, cause=probe.cause)
        return failed(
            f"Could not reach the Cloud API to check the key, {probe.failed_layer} layer:"
            f" {probe.error}. This is a network problem, not an authentication one",
            *details,
            remedy="See the host checks for the failing layer",
            **data,
        )
    return _auth_verdict(probe.answer, s.cloud_api_url, url, shown, details=details, data=data)


def _auth_verdict(
    answer: Answer,
    cloud_root: str,
    url: str,
    shown: str,
    *,
    details: list[str],
    data: dict[str, Any],
) -> Outcome:
    """The key check's verdict on the Cloud API's answer to ``/me/workspaces``."""
    data["status_code"] = answer.status
    page = not_api(url, answer, data, details) if html_page(answer) is not None else None
    if page is not None:  # a gateway's 401 or 403 says nothing about the key
        return page
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
            "The Cloud API forbids this request (HTTP 403): an IP allow-list, private-link"
            " enforcement, or the role of the key; the key itself was not judged invalid",
            *details,
            remedy="Ask an account admin to allow this network's address (or private link),"
            " or to grant the key's user or service account a role",
            **data,
        )
    if answer.status == 429:
        wait = answer.headers.get("retry-after", "unknown")
        return warned(
            f"Rate limited (HTTP 429), retry after {wait} s: this says nothing against the key",
            *details,
            remedy=f"Wait {wait} s and run the doctor again",
            retry_after=wait,
            **data,
        )
    other = not_api(url, answer, data, details)
    if other is not None:
        return other
    listing = _json(answer.body)
    if answer.status >= 500:
        return failed(
            f"The Cloud API failed (HTTP {answer.status} {answer.reason}): a server-side"
            " problem, not an authentication one",
            *details,
            remedy="Try again later",
            **data,
        )
    if answer.status != 200 or not isinstance(listing, list):
        return failed(
            f"Unexpected answer from the Cloud API: HTTP {answer.status},"
            f" {answer.content_type or 'no content type'}",
            *details,
            **data,
        )
    workspaces = [_workspace_entry(item, cloud_root) for item in listing if isinstance(item, dict)]
    data["workspaces"] = workspaces
    return passed(f"Key {shown} accepted; it sees {len(workspaces)} workspace(s)", *details, **data)


def _workspace_entry(item: Mapping[str, Any], cloud_root: str) -> dict[str, str]:
    account = str(item.get("account_id", ""))
    workspace_id = str(item.get("workspace_id", ""))
    return {
        "handle": f"{item.get('account_handle', '?')}/{item.get('workspace_handle', '?')}",
        "account_id": account,
        "workspace_id": workspace_id,
        "url": urls.workspace_api_url(cloud_root, urls.WorkspaceIds(account, workspace_id)),
    }


def workspace(ctx: Context) -> Outcome:
    url = (ctx.settings.api_url or "").strip()
    ids = urls.workspace_ids(url) if _is_cloud(ctx) else None
    if ids is None:
        return skipped("SYNTASK_API_URL names no Cloud workspace")
    earlier = ctx.result("api.auth")
    if earlier is not None and earlier.status is not Status.PASS:
        # Without a verdict on the key there is no list to look in: say nothing about membership.
        return skipped(
            f"Not judged: api.auth has no verdict on the key ({earlier.outcome.summary})"
        )
    visible: list[dict[str, str]] = (
        list(earlier.outcome.data.get("workspaces", [])) if earlier else []
    )
    account, wanted = ids.account.lower(), ids.workspace.lower()
    match = next(
        (
            w
            for w in visible
            if w["account_id"].lower() == account and w["workspace_id"].lower() == wanted
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
        f"The key cannot see workspace {ids.workspace} (account {ids.account}):"
        " wrong ids, or the key's user or service account is not a member",
        "workspaces this key can see:" if visible else "this key sees no workspace at all",
        *lines,
        remedy=_workspace_remedy(visible, account, wanted),
        visible=visible,
    )


def _workspace_remedy(visible: list[dict[str, str]], account: str, wanted: str) -> str:
    """Point at the visible workspace most likely meant: same workspace id, then account."""
    if not visible:
        return "Ask a workspace admin to add this key's user or service account"
    best = next(
        (w for w in visible if w["workspace_id"].lower() == wanted),
        next((w for w in visible if w["account_id"].lower() == account), visible[0]),
    )
    return (
        f'To use {best["handle"]}: `syntask config set SYNTASK_API_URL="{best["url"]}"`;'
        " otherwise ask a workspace admin to add the key to the workspace"
    )
