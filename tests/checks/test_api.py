"""api.reach, api.auth, api.workspace against a fake Cloud and self-hosted servers on loopback."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import (
    ACCOUNT,
    KEY,
    SA_KEY,
    WORKSPACE,
    FakeCloud,
    doctor,
    new_uuid,
    run_checks,
    workspace_item,
)
from local_servers import closed_port, raw_server, read_head
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer

from syntask_doctor import registry
from syntask_doctor.context import Context
from syntask_doctor.model import Result, Status
from syntask_doctor.settings import resolve

UI_URL = f"https://app.syntask.cloud/account/{ACCOUNT}/workspace/{WORKSPACE}/dashboard"
OLD_KEY = "pnu_" + "0ldK3yK3ptInTh3Pr0f1l3F0rM0nth5xyzW"


def text(result: Result) -> str:
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or ""])


def authorizations(server: HTTPServer) -> dict[str, str | None]:
    """What each request path carried in its Authorization header, as the server saw it."""
    return {request.path: request.headers.get("Authorization") for request, _ in server.log}


# Healthy


def test_fake_cloud_passes_reach_auth_and_workspace(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    results = run_checks("api.*")
    for check_id in ("api.reach", "api.auth", "api.workspace"):
        assert results[check_id].status is Status.PASS, text(results[check_id])
    assert results["api.workspace"].outcome.summary == "Workspace acme/prod is visible to the key"
    seen = authorizations(fake_cloud.server)
    health = fake_cloud.workspace_url.split(str(fake_cloud.server.port), 1)[1] + "/health"
    assert seen[health] == f"Bearer {KEY}"
    assert seen["/api/me/workspaces"] == f"Bearer {KEY}"
    assert seen["/"] is None  # the host check never carries the key


def test_self_hosted_over_loopback_http_passes_and_gets_the_key(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/api/health").respond_with_json(True)
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
    monkeypatch.setenv("SYNTASK_API_KEY", KEY)
    results = run_checks("api.*")
    assert results["api.reach"].status is Status.PASS, text(results["api.reach"])
    assert results["api.auth"].status is Status.SKIP
    assert authorizations(httpserver)["/api/health"] == f"Bearer {KEY}"


def test_all_api_checks_through_the_loopback_proxy_hide_the_key_from_it(
    fake_cloud: FakeCloud, proxy: LoopbackProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    results = run_checks("api.*")
    assert all(results[c].status is Status.PASS for c in ("api.reach", "api.auth"))
    assert {method for method, _, _ in proxy.log.requests} == {"CONNECT"}
    assert KEY not in repr(proxy.log.requests)


# api.reach: answers that are not the API


def test_c01_web_ui_address_answers_html_and_the_page_title_is_shown(
    tls_server: HTTPServer, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C01, probe part: app.syntask.cloud is the local server, through the proxy's hosts map."""
    page = "<!doctype html><html><head><title>Syntask Cloud</title></head><body></body></html>"
    tls_server.expect_request(re.compile(".*")).respond_with_data(page, content_type="text/html")
    monkeypatch.setenv("SYNTASK_API_URL", UI_URL)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
    with LoopbackProxy(hosts={"app.syntask.cloud": ("127.0.0.1", tls_server.port)}) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = run_checks("api.reach")["api.reach"]
    assert result.status is Status.FAIL
    assert "HTML came back where the API answers JSON" in result.outcome.summary
    assert "page title 'Syntask Cloud'" in result.outcome.summary
    assert result.outcome.data["html_title"] == "Syntask Cloud"
    assert f"GET {UI_URL}/health" in result.outcome.details[0]


@pytest.mark.parametrize(
    "case",
    [
        ("", 404, "Not Found", "text/plain", "HTTP 404 from the health endpoint"),
        ("/api/api", 405, '{"detail":"Method Not Allowed"}', "application/json", "HTTP 405"),
        ("", 404, "<html><title>404 Not Found</title></html>", "text/html", "'404 Not Found'"),
    ],
    ids=["api-missing-404", "api-doubled-405", "api-missing-html"],
)
def test_c02_missing_or_doubled_api_is_a_non_api_answer(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, case: tuple[str, int, str, str, str]
) -> None:
    """C02, probe part: a self-hosted URL without /api, or with /api twice."""
    path, status, body, content_type, words = case
    httpserver.expect_request(f"{path}/health").respond_with_data(
        body, status=status, content_type=content_type
    )
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for(path or "/").rstrip("/"))
    result = run_checks("api.reach")["api.reach"]
    assert result.status is Status.FAIL
    assert words in result.outcome.summary
    assert result.outcome.remedy is not None and "ends in /api" in result.outcome.remedy


@pytest.mark.parametrize("status", [301, 307])
def test_c05_redirect_warns_and_shows_where_it_points_without_following(
    status: int, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with raw_server(lambda conn, _stop: None) as elsewhere:
        target = f"http://localhost:{elsewhere.port}/api/health"
        httpserver.expect_request("/api/health").respond_with_data(
            "", status=status, headers={"Location": target}
        )
        monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
        monkeypatch.setenv("SYNTASK_API_KEY", KEY)
        result = run_checks("api.reach")["api.reach"]
    assert result.status is Status.WARN
    assert f"redirect (HTTP {status}) to {target}" in result.outcome.summary
    assert result.outcome.data["location"] == target
    assert result.outcome.remedy is not None
    assert f"http://localhost:{elsewhere.port}/api" in result.outcome.remedy
    assert [r.path for r, _ in httpserver.log].count("/api/health") == 1


def test_relative_redirect_is_shown_as_an_absolute_url(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/api/health").respond_with_data(
        "", status=308, headers={"Location": "/v2/api/health"}
    )
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
    result = run_checks("api.reach")["api.reach"]
    assert result.outcome.data["location"] == httpserver.url_for("/v2/api/health")


def test_plain_text_200_is_not_the_api(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/api/health").respond_with_data("OK", content_type="text/plain")
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
    result = run_checks("api.reach")["api.reach"]
    assert result.status is Status.FAIL
    assert "not a JSON answer" in result.outcome.summary


def test_lying_api_server_is_a_failure_in_words_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def garbage(conn: socket.socket, _stop: threading.Event) -> None:
        read_head(conn)
        conn.sendall(b"\x16\x03\x01garbage\r\n\r\n")

    with raw_server(garbage) as server:
        monkeypatch.setenv("SYNTASK_API_URL", f"http://127.0.0.1:{server.port}/api")
        result = run_checks("api.reach", "host.127.0.0.1")
    host = result["host.127.0.0.1"]
    assert host.status is Status.FAIL
    assert "the server broke the HTTP exchange" in host.outcome.summary
    assert result["api.reach"].status is Status.SKIP


# api.auth


def test_c06_expired_key_from_the_profile_is_rejected(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """C06: the key lives in profile 'default' of $SYNTASK_HOME/profiles.toml."""
    home = tmp_path / "syntask-home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        f'active = "default"\n[profiles.default]\nSYNTASK_API_KEY = "{OLD_KEY}"\n'
    )
    monkeypatch.setenv("SYNTASK_HOME", str(home))
    monkeypatch.delenv("SYNTASK_API_KEY")
    fake_cloud.server.expect_request("/api/me/workspaces").respond_with_json(
        {"detail": "Invalid authentication credentials"}, status=401
    )
    run = doctor("--format", "json", "--only", "api.auth")
    outcome = {r["id"]: r for r in run.json()["results"]}["api.auth"]
    assert outcome["status"] == "fail"
    assert "rejected (HTTP 401)" in outcome["summary"]
    assert "expired" in outcome["summary"]
    assert f"pnu_****{OLD_KEY[-4:]} (from profile 'default')" in outcome["summary"]
    assert outcome["data"]["key_source"] == "profile 'default'"
    assert "Create a new key" in outcome["remedy"]
    assert "syntask cloud login --key" in outcome["remedy"]
    assert OLD_KEY not in run.stdout + run.stderr
    assert OLD_KEY[4:-4] not in run.stdout + run.stderr
    assert authorizations(fake_cloud.server)["/api/me/workspaces"] == f"Bearer {OLD_KEY}"


@pytest.mark.parametrize(
    "key", ["pcu_" + "b" * 36, "sk-" + "c" * 37], ids=["previous-generation", "no-prefix"]
)
def test_c07_key_without_a_cloud_prefix_gets_401_from_the_live_check(
    key: str, fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_KEY", key)
    fake_cloud.server.expect_request("/api/me/workspaces").respond_with_json(
        {"detail": "Invalid authentication credentials"}, status=401
    )
    results = run_checks("api.auth")
    assert results["settings.api_key"].status is Status.WARN
    auth = results["api.auth"]
    assert auth.status is Status.FAIL
    assert "rejected (HTTP 401)" in auth.outcome.summary
    assert any("not a Syntask Cloud key" in line for line in auth.outcome.details)
    assert key not in text(auth)


def test_c09_service_account_key_accepted_but_workspace_not_visible(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C09: a pnb_ key the API accepts; the URL's workspace is not one it can see."""
    monkeypatch.setenv("SYNTASK_API_KEY", SA_KEY)
    dev, other = new_uuid(), new_uuid()
    other_account = new_uuid()
    fake_cloud.workspaces(
        workspace_item(workspace=dev, workspace_handle="dev"),
        workspace_item(account=other_account, workspace=other, account_handle="umbrella"),
    )
    fake_cloud.health(status=404, body='{"detail":"Not Found"}')
    results = run_checks("api.*")
    auth, space, reach = results["api.auth"], results["api.workspace"], results["api.reach"]
    assert auth.status is Status.PASS
    assert "accepted; it sees 2 workspace(s)" in auth.outcome.summary
    assert "invalid" not in text(auth).lower()
    assert space.status is Status.FAIL
    assert f"cannot see workspace {WORKSPACE}" in space.outcome.summary
    dev_url = f"{fake_cloud.root}/accounts/{ACCOUNT}/workspaces/{dev}"
    other_url = f"{fake_cloud.root}/accounts/{other_account}/workspaces/{other}"
    assert f"  acme/dev: {dev_url}" in space.outcome.details
    assert f"  umbrella/prod: {other_url}" in space.outcome.details
    assert space.outcome.remedy is not None and dev_url in space.outcome.remedy
    assert reach.status is Status.FAIL
    assert "not a member" in reach.outcome.summary
    assert "invalid" not in text(reach).lower()


def test_workspace_remedy_prefers_the_same_workspace_id_under_another_account(
    fake_cloud: FakeCloud,
) -> None:
    right_account = new_uuid()
    fake_cloud.workspaces(
        workspace_item(workspace=new_uuid(), workspace_handle="dev"),
        workspace_item(account=right_account, account_handle="real"),
    )
    space = run_checks("api.workspace")["api.workspace"]
    assert space.status is Status.FAIL
    assert space.outcome.remedy is not None
    assert f"accounts/{right_account}/workspaces/{WORKSPACE}" in space.outcome.remedy
    assert "real/prod" in space.outcome.remedy


def test_403_is_forbidden_not_a_bad_key(fake_cloud: FakeCloud) -> None:
    fake_cloud.server.expect_request("/api/me/workspaces").respond_with_json(
        {"detail": "IP not allowed"}, status=403
    )
    auth = run_checks("api.auth")["api.auth"]
    assert auth.status is Status.FAIL
    assert "IP allow-list, private-link enforcement, or the role" in auth.outcome.summary
    assert "not judged invalid" in auth.outcome.summary


def test_429_is_rate_limiting_with_its_wait_not_a_bad_key(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(status=429, headers={"Retry-After": "30"})
    auth = run_checks("api.auth")["api.auth"]
    assert auth.status is Status.WARN
    assert "retry after 30 s" in auth.outcome.summary
    assert "nothing against the key" in auth.outcome.summary
    assert auth.outcome.data["retry_after"] == "30"


def test_server_error_is_not_an_authentication_problem(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(status=503)
    auth = run_checks("api.auth")["api.auth"]
    assert auth.status is Status.FAIL
    assert "not an authentication one" in auth.outcome.summary


def test_unreachable_cloud_is_told_apart_from_a_rejected_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check itself, run directly: the runner would skip it after the failed host check."""
    root = f"https://127.0.0.1:{closed_port()}/api"
    monkeypatch.setenv("SYNTASK_CLOUD_API_URL", root)
    monkeypatch.setenv("SYNTASK_API_URL", f"{root}/accounts/{ACCOUNT}/workspaces/{WORKSPACE}")
    monkeypatch.setenv("SYNTASK_API_KEY", KEY)
    settings = resolve()
    ctx = Context(settings, timeout=2.0, deadline=time.monotonic() + 10)
    check = next(c for c in registry.load().checks(settings) if c.id == "api.auth")
    outcome = check.run(ctx)
    assert outcome.status is Status.FAIL
    assert "network problem, not an authentication one" in outcome.summary
    assert "connection refused" in outcome.summary
    assert outcome.data["failed_layer"] == "tcp"
    assert "rejected" not in outcome.summary


# The key's journey


def test_key_is_not_sent_when_tls_verification_is_off(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SYNTASK_API_TLS_INSECURE_SKIP_VERIFY=true: the workspace client no longer proves the
    server is the API, so the doctor keeps the key back on that path."""
    monkeypatch.setenv("SYNTASK_API_TLS_INSECURE_SKIP_VERIFY", "true")
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health(status=401, body='{"detail":"Invalid authentication credentials"}')
    results = run_checks("api.reach", "api.auth")
    reach = results["api.reach"]
    assert reach.outcome.data["key_sent"] is False
    assert any("verification is switched off" in line for line in reach.outcome.details)
    assert "the key was not sent" in reach.outcome.summary
    health = fake_cloud.workspace_url.split(str(fake_cloud.server.port), 1)[1] + "/health"
    seen = authorizations(fake_cloud.server)
    assert seen[health] is None
    # The login client ignores the setting and verifies, so the key check still runs.
    assert seen["/api/me/workspaces"] == f"Bearer {KEY}"


def test_key_with_characters_a_header_cannot_carry_is_never_sent(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/api/health").respond_with_json(True)
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
    monkeypatch.setenv("SYNTASK_API_KEY", "pnu_abc\x7fdefSECRETPART")
    run = doctor("--format", "json", "--only", "api.reach")
    reach = {r["id"]: r for r in run.json()["results"]}["api.reach"]
    assert reach["data"]["key_sent"] is False
    assert authorizations(httpserver)["/api/health"] is None
    assert "SECRETPART" not in run.stdout + run.stderr


# Gateways: an HTML sign-in page in the API's place, whatever its status


SIGN_IN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in &ndash; Corp Access</title></head>"
    '<body><form><input name="user"><input type="password" name="pw"></form></body></html>'
)


@pytest.mark.parametrize("status", [200, 302, 401, 403])
def test_gateway_sign_in_page_is_named_with_its_title_whatever_the_status(
    status: int, fake_cloud: FakeCloud
) -> None:
    headers = {"Location": "https://sso.corp.example/login"} if status == 302 else None
    for path in ("/api/me/workspaces", re.compile(".*/health")):
        fake_cloud.server.expect_request(path).respond_with_data(
            SIGN_IN_PAGE, status=status, content_type="text/html", headers=headers
        )
    results = run_checks("api.reach", "api.auth")
    for check_id in ("api.reach", "api.auth"):
        result = results[check_id]
        assert result.status is Status.FAIL, text(result)
        summary = result.outcome.summary
        assert f"HTML came back where the API answers JSON (HTTP {status}" in summary
        assert "page title 'Sign in – Corp Access'" in summary
        assert "a sign-in page of an access gateway or captive portal" in summary
        assert "rejected" not in summary  # a gateway's 401 says nothing about the key
        assert "browser" in (result.outcome.remedy or "")
        assert result.outcome.data["sign_in_page"] is True
    if status == 302:
        assert (
            "redirecting to https://sso.corp.example/login" in results["api.reach"].outcome.summary
        )


def test_ordinary_web_page_is_still_not_the_api_not_a_gateway(fake_cloud: FakeCloud) -> None:
    fake_cloud.health(
        body="<html><head><title>Welcome to nginx!</title></head></html>", content_type="text/html"
    )
    result = run_checks("api.reach")["api.reach"]
    assert result.status is Status.FAIL
    assert "this URL is not the Syntask API" in result.outcome.summary
    assert result.outcome.data["sign_in_page"] is False


def test_no_verdict_on_the_key_says_nothing_about_workspace_membership(
    fake_cloud: FakeCloud,
) -> None:
    """Found by a new user: a 429 from api.auth once made api.workspace claim 'not a member'."""
    fake_cloud.workspaces(status=429, headers={"Retry-After": "30"})
    results = run_checks("api.workspace")
    assert results["api.auth"].status is Status.WARN
    workspace = results["api.workspace"]
    assert workspace.status is Status.SKIP
    assert "member" not in workspace.outcome.summary


def test_redirect_to_a_sign_in_page_fails_and_is_never_proposed_as_the_api_url(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = "https://sso.example.invalid/login?next=/api"
    httpserver.expect_request("/api/health").respond_with_data(
        "", status=302, headers={"Location": login}
    )
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
    results = run_checks("api.reach", "api.websocket")
    reach = results["api.reach"]
    assert reach.status is Status.FAIL
    assert "sign-in page or a gateway" in reach.outcome.summary
    assert reach.outcome.remedy is not None and login not in reach.outcome.remedy
    websocket = results["api.websocket"]
    assert websocket.status is Status.SKIP  # REST does not work: nothing to compare with
    assert "api.reach passed" not in websocket.outcome.summary


def test_json_nested_without_end_is_a_finding_not_an_internal_error(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user: a body of endless '[' raised RecursionError inside the check."""
    httpserver.expect_request("/api/health").respond_with_data(
        "[" * 60000, content_type="application/json"
    )
    monkeypatch.setenv("SYNTASK_API_URL", httpserver.url_for("/api"))
    result = run_checks("api.reach")["api.reach"]
    assert result.status is Status.FAIL
