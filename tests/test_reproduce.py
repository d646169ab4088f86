"""The printed curl line, run by hand (here by bash), fails the way the doctor saw it fail.

Each case builds a real fault on loopback, takes the reproduce line from the check's result,
puts the real proxy password back where the line shows ``****``, and runs /usr/bin/curl with
the test's environment (proxy variables included: the line must override them).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass

import pytest
import trustme
from conftest import FakeCloud, run_checks
from local_servers import black_hole, closed_port, raw_server, read_head
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer

from syntask_doctor.reproduce import curl_line, trust_for
from syntask_doctor.routes import Route

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

API = "host.127.0.0.1"


@dataclass
class Curl:
    code: int
    output: str


def run_line(line: str, secret: tuple[str, str] | None = None) -> Curl:
    """Run the printed line; ``secret`` is (masked text, real text) to put back first."""
    assert "****" not in line or secret is not None
    if secret is not None:
        line = line.replace(*secret)
    done = subprocess.run(
        ["bash", "-c", line],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
    )
    return Curl(done.returncode, done.stdout + done.stderr)


def host_line(check_id: str = API, timeout: float = 1.0) -> tuple[str, str | None]:
    result = run_checks(check_id, timeout=timeout)[check_id]
    line = result.outcome.data.get("reproduce")
    return line, result.outcome.data.get("cause")


def proxy_line(timeout: float = 1.0) -> tuple[str, str | None]:
    result = run_checks("proxy.connect", timeout=timeout)["proxy.connect"]
    (entry,) = result.outcome.data["proxies"]
    return entry["reproduce"], entry["cause"]


# Direct faults


def test_untrusted_certificate_curl_fails_verification_too(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """certifi alone does not hold the test root; curl is told to use certifi, not the OS."""
    monkeypatch.delenv("SSL_CERT_FILE")
    line, cause = host_line()
    assert cause == "untrusted"
    assert "--cacert" in line
    curl = run_line(line)
    assert curl.code == 60, curl.output  # CURLE_PEER_FAILED_VERIFICATION


def test_the_line_for_a_healthy_host_succeeds(fake_cloud: FakeCloud) -> None:
    """The same options against the working setup: curl gets through, so the line is fair."""
    route = Route(fake_cloud.root, None, None, "direct")
    trust = trust_for("file", os.environ["SSL_CERT_FILE"])
    curl = run_line(curl_line(f"https://127.0.0.1:{fake_cloud.server.port}/", route, trust, 2))
    assert curl.code == 0, curl.output
    assert "HTTP 500" in curl.output or "HTTP 404" in curl.output


def test_refused_port_curl_cannot_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{closed_port()}/api")
    line, cause = host_line()
    assert cause == "refused"
    assert run_line(line).code == 7  # CURLE_COULDNT_CONNECT


def test_c27_black_hole_curl_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with black_hole() as port:
        monkeypatch.setenv("SYNTASK_API_URL", f"https://localhost:{port}/api")
        line, cause = host_line("host.localhost", timeout=0.5)
        curl = run_line(line)
    assert cause == "timeout"
    assert curl.code == 28, curl.output  # CURLE_OPERATION_TIMEDOUT


def test_tls_to_a_plain_http_port_curl_fails_the_handshake(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", f"https://127.0.0.1:{httpserver.port}/api")
    line, cause = host_line()
    assert cause == "not-tls"
    curl = run_line(line)
    assert curl.code == 35, curl.output  # CURLE_SSL_CONNECT_ERROR
    assert "wrong version number" in curl.output


def test_shell_proxy_variables_do_not_change_curl_route(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """https_proxy='' cancels HTTPS_PROXY for httpx; curl alone would still use HTTPS_PROXY."""
    monkeypatch.delenv("SSL_CERT_FILE")
    with LoopbackProxy(mode="forbid") as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        monkeypatch.setenv("https_proxy", "")
        line, cause = host_line()
        curl = run_line(line)
    assert cause == "untrusted"
    assert "--noproxy '*'" in line
    assert curl.code == 60, curl.output
    assert corp.log.requests == []


# Proxy faults (proxy.connect's line)


def test_c14_basic_407_line_fails_with_the_same_407_and_passes_once_fixed(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "p@ss:w#rd"
    with LoopbackProxy(mode="basic", credentials=("alice", password)) as corp:
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:Wr0ng@127.0.0.1:{corp.port}")
        line, cause = proxy_line()
        assert cause == "proxy-407"
        assert "Wr0ng" not in line and "alice:****@" in line
        refused = run_line(line, ("alice:****@", "alice:Wr0ng@"))
        right = urllib.parse.quote(password, safe="")
        fixed = run_line(line, ("alice:****@", f"alice:{right}@"))
    assert refused.code == 56, refused.output  # CURLE_RECV_ERROR: CONNECT refused
    assert "407" in refused.output
    assert fixed.code == 0, fixed.output


@pytest.mark.parametrize(("mode", "status"), [("forbid", "403"), ("bad-gateway", "502")])
def test_refusing_proxy_line_gets_the_same_refusal(
    mode: str, status: str, fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode=mode) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # curl would obey it; httpx does too
        monkeypatch.setenv("no_proxy", "")
        line, cause = proxy_line()
        curl = run_line(line)
    assert cause == f"proxy-{status}"
    assert curl.code == 56, curl.output
    assert f"response {status}" in curl.output


def test_c12_https_proxy_that_speaks_plain_http_curl_fails_at_the_proxy_handshake(
    fake_cloud: FakeCloud, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.port}")
    line, cause = proxy_line(timeout=0.5)
    curl = run_line(line)
    assert cause == "timeout"
    assert curl.code == 28, curl.output


def test_https_proxy_with_an_untrusted_certificate_curl_refuses_it_too(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger = trustme.CA(organization_name="some other root")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    stranger.issue_cert("127.0.0.1").configure_cert(context)
    with LoopbackProxy(tls=context) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        line, cause = proxy_line()
        curl = run_line(line)
    assert cause == "untrusted"
    assert "--proxy-cacert" in line
    assert curl.code == 60, curl.output


def test_the_line_never_carries_the_api_key(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def garbage(conn: socket.socket, _stop: threading.Event) -> None:
        read_head(conn)
        conn.sendall(b"\x00garbage\r\n\r\n")

    with raw_server(garbage) as server:
        monkeypatch.setenv("SYNTASK_API_URL", f"http://127.0.0.1:{server.port}/api")
        line, _cause = host_line()
    key = os.environ["SYNTASK_API_KEY"]
    assert key not in line and "Authorization" not in line
