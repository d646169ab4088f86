"""What kind of API URL the client was given: Cloud workspace, self-hosted, or a mistake."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

APP_HOST = "app.syntask.cloud"

_WORKSPACE_PATH = re.compile(r"/accounts/(?P<account>[^/]+)/workspaces/(?P<workspace>[^/]+)/?$")
_UI_PATH = re.compile(r"/account/(?P<account>[^/]+)/workspace/(?P<workspace>[^/]+)")


@dataclass(frozen=True)
class WorkspaceIds:
    account: str
    workspace: str


def is_cloud(url: str, cloud_api_url: str) -> bool:
    """The client's own test: a plain string prefix of the Cloud API root."""
    return url.startswith(cloud_api_url)


def workspace_ids(url: str) -> WorkspaceIds | None:
    """The account and workspace ids of a Cloud workspace API URL, if it has that shape."""
    match = _WORKSPACE_PATH.search(urlsplit(url).path)
    return WorkspaceIds(match["account"], match["workspace"]) if match else None


def ui_workspace_ids(url: str) -> WorkspaceIds | None:
    """The ids inside a web-UI address such as ``/account/<A>/workspace/<W>/dashboard``."""
    match = _UI_PATH.search(urlsplit(url).path)
    return WorkspaceIds(match["account"], match["workspace"]) if match else None


def workspace_api_url(cloud_api_url: str, ids: WorkspaceIds) -> str:
    return f"{cloud_api_url.rstrip('/')}/accounts/{ids.account}/workspaces/{ids.workspace}"


def is_uuid(text: str) -> bool:
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
