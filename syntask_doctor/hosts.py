"""The hosts a firewall must let through, and the feature each one serves."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from syntask_doctor.settings import Settings


@dataclass(frozen=True)
class Host:
    """One host to reach, and why it matters."""

    name: str
    url: str
    """What the doctor requests: the host's root, over the scheme the client uses."""
    feature: str
    """What stops working when this host is unreachable."""
    critical: bool
    """Whether an unreachable host fails the run: only the API host does (the Cloud API
    host when no API URL is set, since ``syntask cloud login`` is then the first step)."""

    @property
    def check_id(self) -> str:
        return f"host.{self.name}"


ALLOW_LIST = (
    ("api.syntask.cloud", "https", "the Syntask Cloud API (flows, workers, `syntask cloud login`)"),
    ("app.syntask.cloud", "https", "the web UI"),
    ("auth.workos.com", "https", "browser login (`syntask cloud login` through the web browser)"),
    ("api.github.com", "https", "GitHub-based features (GitHub sign-in, code storage on GitHub)"),
    ("github.com", "https", "GitHub-based features (GitHub sign-in, code storage on GitHub)"),
    (
        "ocsp.pki.goog",
        "http",
        "certificate revocation checks (OCSP) by browsers and strict firewalls",
    ),
)


def _root(url: str) -> tuple[str, str] | None:
    """The host of ``url`` and its root URL (scheme, host, port; no credentials, no path)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not host or parts.scheme not in ("http", "https"):
        return None
    return host, f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"


def hosts_for(settings: Settings) -> tuple[Host, ...]:
    """The allow-list, plus the API URL's and Cloud API root's hosts when they differ."""
    api = _root(settings.api_url or "")
    cloud = _root(settings.cloud_api_url)
    critical = api if settings.api_url else cloud
    api_host = critical[0] if critical else None
    hosts = [
        Host(name, f"{scheme}://{name}/", feature, critical=name == api_host)
        for name, scheme, feature in ALLOW_LIST
    ]
    extra = [
        (api, "the workspace API in SYNTASK_API_URL"),
        (cloud, "the Cloud API root in SYNTASK_CLOUD_API_URL (`syntask cloud login`)"),
    ]
    known = {h.name for h in hosts}
    for root, feature in extra:
        if root and root[0] not in known:
            hosts.append(Host(root[0], root[1], feature, critical=root[0] == api_host))
            known.add(root[0])
    return tuple(hosts)
