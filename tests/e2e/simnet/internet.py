"""The simulated internet: a client, a corporate network with its DNS server and proxies,
and the public hosts the doctor must reach, each in Linux network namespaces of this run.

    client 10.10.0.2 ── 10.10.0.1 corp (router, DNS, proxies) 10.20.0.1 ── 10.20.0.2 net
                                                                  public hosts 198.18.0.x

Only these namespaces are joined, and only to each other: nothing here has a route to the
machine's own network. The doctor runs unmodified inside ``client``, with certifi's bundle
replaced by one that also holds the run's public root, in its own mount namespace.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import certifi

from .dns_server import DnsServer
from .links import DelayLink, Link, VethLink
from .namespaces import Namespace, remove_stale
from .pki import Pki
from .proxy import Proxy
from .web import WebServer, cloud_api, site, with_ocsp, workspace_item

CLIENT, GATEWAY = "10.10.0.2", "10.10.0.1"
CORP_UPLINK, NET_UPLINK = "10.20.0.1", "10.20.0.2"
PUBLIC = "198.18.0.0/24"
"""Public hosts live in the benchmarking range (RFC 2544), which no real host uses."""
PROXY_HOST = "proxy.corp.test"
PROXY_PORTS = {"tunnel": 3128, "basic": 3129, "inspect": 3130, "no-websocket": 3131}
"""Each proxy by name; ``no-websocket`` inspects TLS and refuses WebSocket handshakes."""
PROXY_USER, PROXY_PASSWORD = "alice", "corp#Pass 1"
"""A password that must be percent-encoded in a proxy URL, as many real ones must."""

ACCOUNT = "0f3c1a2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
WORKSPACE = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
KEY = "pnu_" + "Qm7Zt2Lx9Kd4Rv8Nw3Hs6Jp1Yc5Fb0Ge2Ua7"
CLOUD_API = "https://api.syntask.cloud/api"
WORKSPACE_URL = f"{CLOUD_API}/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"

HOSTS = (
    "api.syntask.cloud",
    "app.syntask.cloud",
    "auth.workos.com",
    "api.github.com",
    "github.com",
    "ocsp.pki.goog",
)
PLAIN_HTTP = frozenset({"ocsp.pki.goog"})

# Inside the client's own mount namespace: the run's resolver, hosts file and public roots.
_ENTER = (
    'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts'
    ' && mount --bind "$3" "$4" && shift 4 && exec "$@"'
)


class _Server(Protocol):
    def stop(self) -> None: ...


@dataclass(frozen=True)
class DoctorRun:
    """One run of the doctor as a user's process."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        return {result["id"]: result for result in self.json()["results"]}

    def status(self, check_id: str) -> str:
        return str(self.results[check_id]["status"])

    def failed_layer(self, check_id: str) -> str | None:
        layer = self.results[check_id]["data"].get("failed_layer")
        return None if layer is None else str(layer)


class Internet:
    """The whole simulated network of one test; ``close`` (or ``with``) removes it."""

    def __init__(self, pki: Pki, workdir: Path, *, rtt: float = 0.0) -> None:
        self.pki = pki
        self.workdir = workdir
        self.rtt = rtt
        self._namespaces: list[Namespace] = []
        self._links: list[Link] = []
        self._servers: list[_Server] = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Internet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _namespace(self, role: str) -> Namespace:
        ns = Namespace(role)
        self._namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        return ns

    def _build(self) -> None:
        remove_stale()
        self.client = self._namespace("client")
        self.corp = self._namespace("corp")
        self.net = self._namespace("net")
        if self.rtt > 0:
            self._links.append(DelayLink(self.client, CLIENT, self.corp, GATEWAY, self.rtt / 2))
        else:
            self._links.append(VethLink(self.client, CLIENT, self.corp, GATEWAY))
        self._links.append(VethLink(self.corp, CORP_UPLINK, self.net, NET_UPLINK))
        self.corp.sysctl("net.ipv4.ip_forward", "1")
        self.net.sysctl("net.ipv4.ip_forward", "0")  # what reaches net for no host is dropped
        for ns in (self.corp, self.net):
            # Every refusal answered, not one a second: failures stay as fast as they are.
            ns.sysctl("net.ipv4.icmp_ratelimit", "0")
        self.client.ip("route", "add", PUBLIC, "via", GATEWAY)
        self.corp.ip("route", "add", PUBLIC, "via", NET_UPLINK)
        self.net.ip("route", "add", CLIENT, "via", CORP_UPLINK)

        self.addresses: dict[str, str] = {}
        self.revoked: set[int] = set()
        """Serial numbers the OCSP responder reports revoked."""
        self.web: dict[str, WebServer] = {}
        workspaces = [workspace_item(ACCOUNT, WORKSPACE)]
        for index, host in enumerate(HOSTS):
            address = f"198.18.0.{10 + index}"
            self.net.ip("addr", "add", f"{address}/32", "dev", "lo")
            self.addresses[host] = address
            app = site(host)
            if host == "api.syntask.cloud":
                app = cloud_api(KEY, workspaces)
            elif host == "ocsp.pki.goog":
                app = with_ocsp(app, lambda request: self.pki.issuer.respond(request, self.revoked))
            tls = None if host in PLAIN_HTTP else self.pki.server_context(host)
            self.web[host] = WebServer(self.net, address, 80 if tls is None else 443, app, tls)
            self._servers.append(self.web[host])

        self.dns = DnsServer(self.corp, GATEWAY, {**self.addresses, PROXY_HOST: GATEWAY})
        self._servers.append(self.dns)
        self.proxies = {
            name: Proxy(
                self.corp,
                GATEWAY,
                port,
                self.addresses.get,
                mode="inspect" if name == "no-websocket" else name,
                credentials=(PROXY_USER, PROXY_PASSWORD),
                inspect_context=self.pki.inspection_context,
                upstream_context=self.pki.client_context(),
                refuse_upgrades=name == "no-websocket",
            )
            for name, port in PROXY_PORTS.items()
        }
        self._servers.extend(self.proxies.values())

        self.resolv_conf = self.workdir / "resolv.conf"
        self.resolv_conf.write_text(f"nameserver {GATEWAY}\noptions timeout:2 attempts:1\n")
        self.hosts_file = self.workdir / "hosts"
        self.hosts_file.write_text("127.0.0.1 localhost\n")
        self.home = self.workdir / "home"
        self.home.mkdir(exist_ok=True)
        self.cwd = self.workdir / "cwd"
        self.cwd.mkdir(exist_ok=True)

    # Faults a scenario switches on.

    def block_direct(self, how: str = "drop") -> None:
        """A firewall: only the corporate network (DNS, proxies) stays reachable.

        ``drop`` discards packets for the outside silently (connections time out);
        ``reject`` leaves the client no route out (connections fail at once).
        """
        if how == "drop":
            self.corp.sysctl("net.ipv4.ip_forward", "0")
        elif how == "reject":
            self.client.ip("route", "del", PUBLIC)
        else:
            raise ValueError(how)

    def blackhole(self, *hosts: str) -> None:
        """The hosts keep their DNS records, but nothing answers at their addresses."""
        for host in hosts:
            self.net.ip("addr", "del", f"{self.addresses[host]}/32", "dev", "lo")

    def expire_certificate(self, host: str) -> None:
        self.web[host].tls = self.pki.server_context(host, expired=True)

    def revoke_certificate(self, host: str) -> None:
        """The OCSP responder named in the host's certificate answers ``revoked``."""
        self.revoked.add(self.pki.serial(host))

    def skew_clock(self, seconds: float) -> None:
        """Every public host's ``Date`` header runs ``seconds`` ahead of this machine."""
        for server in self.web.values():
            server.clock_offset = seconds

    def forget_public_names(self) -> None:
        """The corporate DNS server stops resolving public names (NXDOMAIN)."""
        self.dns.records = {PROXY_HOST: GATEWAY}

    def stop_dns(self) -> None:
        """No DNS server answers at the client's configured resolver."""
        self.dns.stop()

    def proxy_url(self, name: str = "tunnel", *, credentials: bool = False) -> str:
        auth = f"{quote(PROXY_USER, safe='')}:{quote(PROXY_PASSWORD, safe='')}@"
        return f"http://{auth if credentials else ''}{PROXY_HOST}:{PROXY_PORTS[name]}"

    # Running programs as a user on the client.

    def user_env(self, **variables: str) -> dict[str, str]:
        """The environment of a user whose profile points at a Cloud workspace."""
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "SYNTASK_API_URL": WORKSPACE_URL,
            "SYNTASK_API_KEY": KEY,
        }
        env.update(variables)
        return env

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` as the client runs it: the run's resolver, hosts and public roots."""
        mounts = [str(self.resolv_conf), str(self.hosts_file), str(self.pki.public_bundle)]
        return self.client.command(["sh", "-c", _ENTER, "sh", *mounts, certifi.where(), *argv])

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv),
            env=env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def doctor(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
    ) -> DoctorRun:
        """``syntask-doctor --format json ARGS`` on the client, as the user would run it."""
        argv = [sys.executable, "-m", "syntask_doctor", "--format", "json", *args]
        started = time.monotonic()
        done = self.run(argv, self.user_env() if env is None else env, timeout)
        return DoctorRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def close(self) -> None:
        """Stop every server and link, end what runs in the namespaces, remove them."""
        for server in self._servers:
            with contextlib.suppress(OSError):
                server.stop()
        for link in self._links:
            link.close()
        for ns in reversed(self._namespaces):
            ns.remove()
        self._servers.clear()
        self._links.clear()
        self._namespaces.clear()
