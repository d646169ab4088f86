"""proxy.connect against real loopback proxies: every named outcome, and the fix that works."""

from __future__ import annotations

import shlex
import ssl
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import FakeCloud, doctor, run_checks, workspace_item
from local_servers import closed_port
from proxy_server import LoopbackProxy

from syntask_doctor.model import Result, Status

API = "host.127.0.0.1"
PASSWORD = "p@ss:w/rd#1 %x"
"""A password with every character that must be percent-encoded in a URL."""


def everything(result: Result) -> str:
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or "", repr(outcome.data)])


def proxy_entry(result: Result) -> dict[str, Any]:
    (entry,) = result.outcome.data["proxies"]
    return dict(entry)


def apply_printed_fix(remedy: str, user: str, password: str) -> str:
    """Run the command the remedy prints, typing the credentials, and return the new value.

    getpass falls back to stdin when there is no terminal, which the new session ensures.
    """
    command = remedy.split("prints the export line to run: ", 1)[1]
    done = subprocess.run(
        ["bash", "-c", command],
        input=f"{user}\n{password}\n",
        capture_output=True,
        text=True,
        timeout=20,
        start_new_session=True,
        check=True,
    )
    (line,) = [out for out in done.stdout.splitlines() if out.startswith("export ")]
    name, _, value = shlex.split(line.removeprefix("export "))[0].partition("=")
    assert name == "HTTPS_PROXY"
    return value


def tls_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


# Healthy and not applicable


def test_no_proxy_in_use_is_a_skip(fake_cloud: FakeCloud) -> None:
    result = run_checks("proxy.connect")["proxy.connect"]
    assert result.status is Status.SKIP
    assert "every host is reached directly" in result.outcome.summary


def test_tunnel_opens_and_the_api_host_passes_through_it(
    fake_cloud: FakeCloud, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    results = run_checks("proxy.connect", API)
    connect = results["proxy.connect"]
    assert connect.status is Status.PASS, everything(connect)
    entry = proxy_entry(connect)
    assert entry["target"] == f"127.0.0.1:{fake_cloud.server.port}"
    assert [layer["name"] for layer in entry["layers"]] == ["dns", "tcp", "proxy"]
    assert "200 Connection established" in entry["layers"][-1]["detail"]
    assert results[API].status is Status.PASS
    assert proxy.log.requests[0][:2] == ("CONNECT", entry["target"])


# C14: authentication


def test_c14_basic_407_is_diagnosed_and_the_printed_fix_applied_passes(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C14, Basic: the fix is a URL template; filled in with encoded values, everything passes."""
    fake_cloud.health()
    with LoopbackProxy(mode="basic", credentials=("alice", PASSWORD)) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        run = doctor("--format", "json", "--only", f"proxy.connect,{API},api.reach")
        results = {r["id"]: r for r in run.json()["results"]}
        connect = results["proxy.connect"]
        assert connect["status"] == "fail"
        assert "demands credentials (407 Proxy Authentication Required)" in connect["summary"]
        assert "it offers Basic" in connect["summary"]
        assert results[API]["status"] == "skip"  # one finding: the proxy's
        assert "depends on proxy.connect" in results[API]["summary"]
        remedy = connect["remedy"]
        assert "@ %40" in remedy
        fixed = apply_printed_fix(remedy, "alice", PASSWORD)
        assert fixed.startswith("http://alice:p%40ss%3Aw%2Frd%231%20%25x@")
        monkeypatch.setenv("HTTPS_PROXY", fixed)
        again = doctor("--format", "json", "--only", f"proxy.connect,{API},api.reach")
    statuses = {r["id"]: r["status"] for r in again.json()["results"]}
    assert statuses["proxy.connect"] == "pass", again.stdout
    assert statuses[API] == "pass"
    assert statuses["api.reach"] == "pass"
    assert again.exit_code == 0
    for output in (run.stdout + run.stderr, again.stdout + again.stderr):
        assert PASSWORD not in output
        assert urllib.parse.quote(PASSWORD, safe="") not in output


def test_c14_basic_credentials_rejected_names_the_user_not_the_password(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode="basic", credentials=("alice", "right")) as corp:
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:Wr0ngPassw0rd@127.0.0.1:{corp.port}")
        result = run_checks("proxy.connect")["proxy.connect"]
    assert result.status is Status.FAIL
    assert "rejected the credentials in the URL (user 'alice')" in result.outcome.summary
    assert "percent-encoded" in (result.outcome.remedy or "")
    assert proxy_entry(result)["credentials_sent"] is True
    assert "Wr0ngPassw0rd" not in everything(result)
    assert "alice:****@" in everything(result)


def test_c14_ntlm_and_negotiate_only_needs_a_local_relay(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C14: the proxy offers Negotiate and NTLM; httpx can only send Basic."""
    with LoopbackProxy(mode="ntlm") as corp:
        monkeypatch.setenv("HTTPS_PROXY", f"http://CORP%5Calice:S3cret@127.0.0.1:{corp.port}")
        run = doctor("--format", "json", "--only", "proxy.connect")
    connect = {r["id"]: r for r in run.json()["results"]}["proxy.connect"]
    assert connect["status"] == "fail"
    assert "it offers Negotiate, NTLM" in connect["summary"]
    assert "httpx only sends Basic credentials" in connect["summary"]
    assert connect["data"]["proxies"][0]["schemes"] == ["Negotiate", "NTLM"]
    remedy = connect["remedy"]
    assert "px" in remedy and "cntlm" in remedy
    assert f"--proxy=127.0.0.1:{corp.port}" in remedy
    assert "export HTTPS_PROXY='http://127.0.0.1:3128'" in remedy
    assert "S3cret" not in run.stdout + run.stderr


# Refusals beyond authentication


def test_403_is_blocked_by_policy_with_a_reproduce_line(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode="forbid") as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        result = run_checks("proxy.connect")["proxy.connect"]
    assert result.status is Status.FAIL
    target = f"127.0.0.1:{fake_cloud.server.port}"
    assert f"refuses a tunnel to {target} by policy" in result.outcome.summary
    assert "403 Forbidden" in result.outcome.summary
    assert f"Ask the proxy's administrators to allow 127.0.0.1 (CONNECT to {target})" == (
        result.outcome.remedy
    )
    entry = proxy_entry(result)
    assert entry["reproduce"].startswith("curl ")
    assert f"--proxy {corp.url}" in entry["reproduce"]


@pytest.mark.parametrize(
    ("mode", "line"),
    [
        ("bad-gateway", "502 Bad Gateway"),
        ("unavailable", "503 Service Unavailable"),
        ("gateway-timeout", "504 Gateway Timeout"),
    ],
)
def test_5xx_means_the_proxy_cannot_reach_the_api(
    mode: str, line: str, fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode=mode) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        result = run_checks("proxy.connect")["proxy.connect"]
    assert result.status is Status.FAIL
    assert "cannot reach 127.0.0.1" in result.outcome.summary
    assert "beyond itself" in result.outcome.summary
    assert line in result.outcome.summary
    assert proxy_entry(result)["cause"] == f"proxy-{line[:3]}"


def test_slow_proxy_within_the_timeout_passes_and_shows_the_wait(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode="slow", delay=0.4) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        result = run_checks("proxy.connect", timeout=2.0)["proxy.connect"]
    assert result.status is Status.PASS, everything(result)
    assert proxy_entry(result)["layers"][-1]["seconds"] >= 0.35


def test_slow_proxy_past_the_timeout_fails_within_the_timeout(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackProxy(mode="slow", delay=5) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        started = time.monotonic()
        result = run_checks("proxy.connect", timeout=0.5)["proxy.connect"]
        elapsed = time.monotonic() - started
    assert result.status is Status.FAIL
    assert "accepts connections but does not answer" in result.outcome.summary
    assert "did not answer CONNECT within 0.5 s" in result.outcome.summary
    assert elapsed < 2.0


def test_proxy_port_closed_fails_at_tcp(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    result = run_checks("proxy.connect")["proxy.connect"]
    assert result.status is Status.FAIL
    assert "cannot be reached: connection refused" in result.outcome.summary
    assert proxy_entry(result)["failed_layer"] == "tcp"


# https:// proxies


def test_https_proxy_with_a_trusted_certificate_passes_with_a_proxy_tls_layer(
    fake_cloud: FakeCloud, server_cert: trustme.LeafCert, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE (the test bundle) is among OpenSSL's default paths httpx uses here."""
    with LoopbackProxy(tls=tls_context(server_cert)) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        results = run_checks("proxy.connect", API)
    assert results["proxy.connect"].status is Status.PASS, everything(results["proxy.connect"])
    names = [layer["name"] for layer in proxy_entry(results["proxy.connect"])["layers"]]
    assert names == ["dns", "tcp", "proxy-tls", "proxy"]
    assert results[API].status is Status.PASS


def test_https_proxy_whose_own_certificate_is_not_trusted(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    stranger = trustme.CA(organization_name="some other root")
    with LoopbackProxy(tls=tls_context(stranger.issue_cert("127.0.0.1"))) as corp:
        monkeypatch.setenv("HTTPS_PROXY", corp.url)
        result = run_checks("proxy.connect")["proxy.connect"]
    assert result.status is Status.FAIL
    assert "its own certificate is not trusted" in result.outcome.summary
    assert "unable to get local issuer certificate" in result.outcome.summary
    assert "SSL_CERT_FILE" in (result.outcome.remedy or "")


def test_c12_https_written_for_a_plain_http_proxy(
    fake_cloud: FakeCloud, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C12 as proxy.connect's finding; the host check defers to it."""
    monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{proxy.port}")
    results = run_checks("proxy.connect", API, timeout=0.5)
    connect = results["proxy.connect"]
    assert connect.status is Status.FAIL
    assert "does not speak TLS" in connect.outcome.summary
    assert connect.outcome.remedy is not None
    assert connect.outcome.remedy.startswith(f"export HTTPS_PROXY='http://127.0.0.1:{proxy.port}'")
    assert results[API].status is Status.SKIP


# Which check owns what


def test_proxy_carrying_only_other_hosts_warns_and_its_hosts_defer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP_PROXY carries only the plain-http OCSP host: a warning; the host check skips."""
    with LoopbackProxy(mode="basic", credentials=("u", "p")) as corp:
        monkeypatch.setenv("HTTP_PROXY", corp.url)
        results = run_checks("proxy.connect", "host.ocsp.pki.goog")
    connect = results["proxy.connect"]
    assert connect.status is Status.WARN
    assert proxy_entry(connect)["target"] == "http://ocsp.pki.goog/"
    assert corp.log.requests[0][:2] == ("GET", "http://ocsp.pki.goog/")
    host = results["host.ocsp.pki.goog"]
    assert host.status is Status.SKIP
    assert f"its proxy {corp.url} fails (see proxy.connect)" in host.outcome.summary


def test_unparsable_proxy_url_is_proxy_env_finding_only(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unencoded '#' in the password: proxy.env fails; proxy.connect does not repeat it."""
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:S3#cretPw@127.0.0.1:9")
    results = run_checks("proxy.connect")
    assert results["proxy.env"].status is Status.FAIL
    assert "percent-encoded" in results["proxy.env"].outcome.summary
    assert results["proxy.connect"].status is Status.SKIP
    assert "cretPw" not in everything(results["proxy.env"])


def test_workspace_listing_still_reaches_the_fake_cloud_through_the_fixed_proxy(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The key check (login client) goes through the same proxy once the credentials work."""
    fake_cloud.workspaces(workspace_item())
    with LoopbackProxy(mode="basic", credentials=("alice", PASSWORD)) as corp:
        encoded = urllib.parse.quote(PASSWORD, safe="")
        monkeypatch.setenv("HTTPS_PROXY", f"http://alice:{encoded}@127.0.0.1:{corp.port}")
        results = run_checks("api.auth")
    assert results["proxy.connect"].status is Status.PASS
    assert results["api.auth"].status is Status.PASS, everything(results["api.auth"])
