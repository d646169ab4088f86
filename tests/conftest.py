"""Shared fixtures: a scrubbed environment, real certificates, a fake Cloud over TLS, a proxy."""

from __future__ import annotations

import json
import os
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import pytest
import trustme
from click.testing import CliRunner
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer
from tls_fixtures import Pki, make_pki, use_public_view
from werkzeug import Request, Response

from syntask_doctor import registry, runner
from syntask_doctor.cli import main
from syntask_doctor.context import Context
from syntask_doctor.model import Result
from syntask_doctor.settings import resolve
from syntask_doctor.websocket import accept_for

ACCOUNT = "0f3c1a2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
WORKSPACE = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
KEY = "pnu_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
SA_KEY = "pnb_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"

LOCAL_ONLY = ("--skip", "host.*.cloud,host.*.com,host.*.goog,dns.resolve")
"""CLI arguments that keep a run on loopback: no public host is looked up or contacted."""

_SCRUB_PREFIXES = ("SYNTASK_",)
_SCRUB_NAMES = {
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "AWS_CA_BUNDLE",
    "REQUEST_METHOD",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test starts with no Syntask, proxy or CA variable, an empty home and working dir."""
    for name in list(os.environ):
        if (
            name.startswith(_SCRUB_PREFIXES)
            or name.upper() in _SCRUB_NAMES
            or name.lower().endswith("_proxy")
        ):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="syntask-doctor test root")


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1", "api.syntask.cloud", "app.syntask.cloud")


@pytest.fixture(scope="session")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """certifi's public roots plus the test root: what a well-configured user would point at."""
    path = tmp_path_factory.mktemp("ca") / "bundle.pem"
    path.write_bytes(Path(certifi.where()).read_bytes() + ca.cert_pem.bytes())
    return path


@pytest.fixture(scope="session")
def ca_only(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test root alone, as a user who put only the corporate root in SSL_CERT_FILE has."""
    path = tmp_path_factory.mktemp("ca") / "root-only.pem"
    path.write_bytes(ca.cert_pem.bytes())
    return path


@pytest.fixture
def tls_server(server_cert: trustme.LeafCert) -> Iterator[HTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@dataclass
class FakeCloud:
    """A Syntask Cloud API on loopback over verified TLS."""

    server: HTTPServer
    root: str
    """The Cloud API root, to use as SYNTASK_CLOUD_API_URL."""
    workspace_url: str

    def workspaces(
        self, *items: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.server.expect_request("/api/me/workspaces").respond_with_data(
            json.dumps(list(items)), status=status, headers=headers, content_type="application/json"
        )

    def health(
        self,
        status: int = 200,
        body: str = "true",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        path = self.workspace_url.split("127.0.0.1", 1)[1].split("/", 1)[1]
        self.server.expect_request(f"/{path}/health").respond_with_data(
            body, status=status, content_type=content_type, headers=headers
        )


def workspace_item(
    account: str = ACCOUNT,
    workspace: str = WORKSPACE,
    account_handle: str = "acme",
    workspace_handle: str = "prod",
) -> dict[str, Any]:
    return {
        "account_id": account,
        "account_name": account_handle.title(),
        "account_handle": account_handle,
        "workspace_id": workspace,
        "workspace_name": workspace_handle,
        "workspace_handle": workspace_handle,
        "workspace_description": "",
    }


@pytest.fixture
def fake_cloud(
    tls_server: HTTPServer, monkeypatch: pytest.MonkeyPatch, ca_bundle: Path
) -> FakeCloud:
    """Points the client's Cloud settings, URL, key and CA at a local fake Cloud."""
    root = f"https://127.0.0.1:{tls_server.port}/api"
    workspace_url = f"{root}/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"
    monkeypatch.setenv("SYNTASK_CLOUD_API_URL", root)
    monkeypatch.setenv("SYNTASK_API_URL", workspace_url)
    monkeypatch.setenv("SYNTASK_API_KEY", KEY)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
    tls_server.expect_request(re.compile(r".*/events/in$")).respond_with_handler(_upgrade)
    return FakeCloud(tls_server, root, workspace_url)


def _upgrade(request: Request) -> Response:
    """The events WebSocket's opening handshake, answered as the real API does (101)."""
    key = request.headers.get("Sec-WebSocket-Key", "")
    headers = {"Upgrade": "websocket", "Connection": "Upgrade"}
    return Response(status=101, headers={**headers, "Sec-WebSocket-Accept": accept_for(key)})


@pytest.fixture
def proxy() -> Iterator[LoopbackProxy]:
    with LoopbackProxy() as server:
        yield server


def run_checks(
    *only: str, timeout: float = 3.0, deadline: float = 20.0, profile: str | None = None
) -> dict[str, Result]:
    """Run the chosen checks (and what they depend on) in-process; results by id."""
    settings = resolve(profile_flag=profile)
    checks = runner.select(registry.load().checks(settings), list(only), [])
    ctx = Context(settings, timeout=timeout, deadline=time.monotonic() + deadline)
    return {r.check_id: r for r in runner.run(checks, ctx)}


@dataclass
class DoctorRun:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def doctor(*args: str) -> DoctorRun:
    """The CLI in-process, with the test's environment."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return DoctorRun(result.exit_code, result.stdout, result.stderr)


def everything(result: Result) -> str:
    """All the words a check said: summary, details and remedy, for assertions on wording."""
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or ""])


def everything_with_data(result: Result) -> str:
    """``everything`` plus the check's JSON data (secrets must be absent there too)."""
    return "\n".join([everything(result), json.dumps(result.outcome.data)])


@pytest.fixture(scope="module")
def pki() -> Pki:
    """A public-like root and intermediate plus a corporate root (see tls_fixtures)."""
    return make_pki()


@pytest.fixture
def public(pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Makes the test PKI's root count as public for this test (certifi.where patched)."""
    return use_public_view(pki, tmp_path, monkeypatch)


def new_uuid() -> str:
    return str(uuid.uuid4())
