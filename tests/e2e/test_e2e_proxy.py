"""The doctor on a simulated corporate network where a firewall lets only the proxy out."""

from __future__ import annotations

import pytest

from e2e.simnet import HOSTS, KEY, PROXY_PASSWORD, DoctorRun, Internet

pytestmark = pytest.mark.e2e

API_HOST = "host.api.syntask.cloud"
API_CHECKS = ("api.reach", "api.auth", "api.workspace")
HOST_CHECKS = tuple(f"host.{host}" for host in HOSTS)


def proxied(internet: Internet, url: str, **variables: str) -> dict[str, str]:
    return internet.user_env(HTTPS_PROXY=url, HTTP_PROXY=url, **variables)


def failed_layers(data: object) -> set[str]:
    """Every ``failed_layer`` a result's data reports, however deep (per proxy, per host)."""
    if isinstance(data, dict):
        found = {str(data["failed_layer"])} if data.get("failed_layer") else set()
        return found.union(*(failed_layers(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(failed_layers(item) for item in data))
    return set()


def assert_all_pass(run: DoctorRun) -> None:
    assert run.exit_code == 0, run.stdout + run.stderr
    for check_id in (*HOST_CHECKS, *API_CHECKS):
        assert run.status(check_id) == "pass", run.results[check_id]


def test_proxy_only_network_passes_through_the_proxy(internet: Internet) -> None:
    internet.block_direct("drop")
    url = internet.proxy_url("tunnel")

    run = internet.doctor("--timeout", "2", env=proxied(internet, url))

    assert_all_pass(run)
    for check_id in HOST_CHECKS:
        assert "proxy.corp.test" in run.results[check_id]["data"]["route"]
    seen = {(s.method, s.target) for s in internet.proxies["tunnel"].seen}
    assert ("CONNECT", "api.syntask.cloud:443") in seen
    assert ("GET", "http://ocsp.pki.goog/") in seen  # plain HTTP goes through HTTP_PROXY
    assert KEY not in run.stdout + run.stderr


@pytest.mark.parametrize("firewall", ["drop", "reject"])
def test_proxy_missing_behind_a_firewall_fails_at_tcp(internet: Internet, firewall: str) -> None:
    internet.block_direct(firewall)
    timeout = 1.0

    run = internet.doctor("--timeout", str(timeout))

    assert run.exit_code == 1
    assert run.status(API_HOST) == "fail"
    for check_id in HOST_CHECKS:
        assert run.failed_layer(check_id) == "tcp", run.results[check_id]
    for check_id in HOST_CHECKS[1:]:
        assert run.status(check_id) == "warn"
    assert "HTTPS_PROXY" in (run.results[API_HOST]["remedy"] or "")
    assert {run.status(check_id) for check_id in API_CHECKS} == {"skip"}
    assert run.seconds < 3 * timeout + 5


def test_c14_proxy_basic_auth_407_then_credentials_pass(internet: Internet) -> None:
    """C14, Basic variant: 407 without credentials; with percent-encoded ones, everything passes."""
    internet.block_direct("drop")

    refused = internet.doctor("--timeout", "2", env=proxied(internet, internet.proxy_url("basic")))

    assert refused.exit_code == 1
    assert refused.status(API_HOST) in ("fail", "skip")  # refused, or not tried past the proxy
    blamed = [
        check_id
        for check_id, result in refused.results.items()
        if result["status"] == "fail"
        and "proxy" in failed_layers(result["data"])
        and "407" in result["summary"]
    ]
    assert blamed, refused.results

    url = internet.proxy_url("basic", credentials=True)
    run = internet.doctor("--timeout", "2", env=proxied(internet, url))

    assert_all_pass(run)
    authorised = [s for s in internet.proxies["basic"].seen if "proxy-authorization" in s.headers]
    assert authorised, "the credentials never reached the proxy"
    assert internet.proxies["basic"].authorised(authorised[0].headers)
    output = run.stdout + run.stderr + refused.stdout + refused.stderr
    assert PROXY_PASSWORD not in output
    assert url.split("@")[0].split(":")[-1] not in output  # nor its percent-encoded form


def test_c18_tls_inspection_with_its_root_untrusted_fails_at_tls(internet: Internet) -> None:
    """C18: an inspecting proxy re-signs every host with a root that certifi does not hold."""
    internet.block_direct("drop")

    run = internet.doctor("--timeout", "2", env=proxied(internet, internet.proxy_url("inspect")))

    assert run.exit_code == 1
    assert run.status(API_HOST) == "fail"
    for check_id in HOST_CHECKS:
        if check_id == "host.ocsp.pki.goog":
            assert run.status(check_id) == "pass"  # plain HTTP: nothing to re-sign
            continue
        assert run.failed_layer(check_id) == "tls", run.results[check_id]
    assert "self-signed certificate in certificate chain" in run.results[API_HOST]["summary"]


def test_tls_inspection_passes_with_a_combined_bundle(internet: Internet) -> None:
    """The fix C18 asks for: SSL_CERT_FILE with the public roots plus the inspection root."""
    internet.block_direct("drop")
    env = proxied(
        internet, internet.proxy_url("inspect"), SSL_CERT_FILE=str(internet.pki.combined_bundle)
    )

    run = internet.doctor("--timeout", "2", env=env)

    assert_all_pass(run)
    assert run.status("tls.ca_bundle") == "pass"
    assert any(s.method == "CONNECT" for s in internet.proxies["inspect"].seen)


def test_c24_no_public_dns_but_the_proxy_reaches_everything(internet: Internet) -> None:
    """C24: the corporate resolver knows only internal names; the proxy resolves the rest."""
    internet.block_direct("drop")
    internet.forget_public_names()

    run = internet.doctor("--timeout", "2", env=proxied(internet, internet.proxy_url("tunnel")))

    assert_all_pass(run)
    warnings = [r["summary"] for r in run.results.values() if r["status"] == "warn"]
    assert any("DNS" in summary for summary in warnings), warnings  # what still needs it


def test_c15_proxy_refusing_websocket_upgrades_fails_the_events_check(internet: Internet) -> None:
    """C15: REST goes through the (trusted) inspecting proxy; the events WebSocket does not."""
    internet.block_direct("drop")
    env = proxied(
        internet,
        internet.proxy_url("no-websocket"),
        SSL_CERT_FILE=str(internet.pki.combined_bundle),
    )

    run = internet.doctor("--timeout", "2", env=env)

    assert run.exit_code == 1
    for check_id in (API_HOST, *API_CHECKS):
        assert run.status(check_id) == "pass", run.results[check_id]
    websocket = run.results["api.websocket"]
    assert websocket["status"] == "fail", websocket
    assert "proxy.corp.test:3131" in websocket["summary"]
    assert "403" in websocket["summary"]


def test_c26_ocsp_responder_only_through_http_proxy_which_is_unset(internet: Internet) -> None:
    """C26: direct egress blocked, HTTPS_PROXY set, HTTP_PROXY not: OCSP (plain http) fails."""
    internet.block_direct("drop")
    url = internet.proxy_url("tunnel")

    run = internet.doctor("--timeout", "1", env=internet.user_env(HTTPS_PROXY=url))

    result = run.results["tls.ocsp"]
    assert result["status"] == "warn", result  # the Syntask client itself never checks OCSP
    assert result["data"]["route"] == "direct"
    assert result["data"]["responder"].startswith("http://ocsp.pki.goog/")
    assert "HTTP_PROXY" in (result["remedy"] or "")
    assert run.status("host.ocsp.pki.goog") == "warn"
    for check_id in (API_HOST, *API_CHECKS):
        assert run.status(check_id) == "pass", run.results[check_id]
