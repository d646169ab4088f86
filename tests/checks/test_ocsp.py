"""tls.ocsp: a real OCSP round trip for the API host's leaf, against a responder on loopback.

The responder is built with cryptography on pytest-httpserver and reached under a name
(ocsp.doctor-test.invalid) through the loopback proxy, as a CA's responder is reached
through HTTP_PROXY. The responder URL lives in the leaf's AIA extension, never in the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import everything, run_checks
from proxy_server import LoopbackProxy
from pytest_httpserver import HTTPServer
from tls_fixtures import (
    InspectingProxy,
    Pki,
    Responder,
    cloud,
    pem,
    through,
)

from syntask_doctor.model import Result, Status

RESPONDER = "http://ocsp.doctor-test.invalid/r1"


@pytest.fixture
def responder_server() -> Iterator[HTTPServer]:
    with HTTPServer(host="127.0.0.1", port=0) as server:
        yield server


def with_responder(
    pki: Pki, monkeypatch: pytest.MonkeyPatch, server: HTTPServer, answer: str
) -> tuple[Result, Responder]:
    leaf = pki.public_ca.issue("api.syntask.cloud", ocsp=RESPONDER)
    responder = Responder(pki.public_ca, leaf, answer)
    if answer == "404":
        server.expect_request("/r1", method="POST").respond_with_data("", status=404)
    else:
        server.expect_request("/r1", method="POST").respond_with_handler(responder)
    with cloud(pki, monkeypatch, api_leaf=leaf) as world:
        hosts = {**world.hosts, "ocsp.doctor-test.invalid": ("127.0.0.1", server.port)}
        with LoopbackProxy(hosts=hosts) as proxy:
            through(monkeypatch, proxy)
            result = run_checks("tls.ocsp")["tls.ocsp"]
    return result, responder


def test_good_certificate_real_round_trip_through_http_proxy(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, responder_server: HTTPServer
) -> None:
    result, responder = with_responder(pki, monkeypatch, responder_server, "good")
    assert result.status is Status.PASS, everything(result)
    assert result.outcome.summary == "api.syntask.cloud's certificate is not revoked (OCSP: good)"
    assert "signed by the issuer" in result.outcome.details
    assert responder.requests[0].serial_number == responder.leaf.cert.serial_number
    assert result.outcome.data["responder"] == RESPONDER
    assert result.outcome.data["route"].startswith("proxy http://127.0.0.1:")


def test_revoked_certificate_fails_with_time_and_reason(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, responder_server: HTTPServer
) -> None:
    result, _ = with_responder(pki, monkeypatch, responder_server, "revoked")
    assert result.status is Status.FAIL, everything(result)
    assert "is REVOKED since" in result.outcome.summary
    assert "(reason: key_compromise)" in result.outcome.summary
    assert "must install a new certificate" in (result.outcome.remedy or "")


def test_delegated_responder_with_the_ocsp_signing_usage_is_believed(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, responder_server: HTTPServer
) -> None:
    result, _ = with_responder(pki, monkeypatch, responder_server, "delegated")
    assert result.status is Status.PASS, everything(result)
    assert "signed by a delegated responder (CN=Doctor Test OCSP Responder)" in everything(result)


@pytest.mark.parametrize(
    "case",
    [
        ("unknown", "The OCSP responder does not know api.syntask.cloud's certificate"),
        ("bad-signature", "signature does not verify against the issuer"),
        ("stale", "is 'good', but it is stale: its next update was due"),
        ("404", "the responder answered HTTP 404 NOT FOUND"),
        ("try-later", "the responder did not answer: try-later"),
    ],
)
def test_answers_that_prove_nothing_warn(
    pki: Pki,
    public: Path,
    monkeypatch: pytest.MonkeyPatch,
    responder_server: HTTPServer,
    case: tuple[str, str],
) -> None:
    answer, words = case
    result, _ = with_responder(pki, monkeypatch, responder_server, answer)
    assert result.status is Status.WARN, everything(result)
    assert words in result.outcome.summary


def test_no_ocsp_url_in_the_certificate_is_a_skip_not_a_failure(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cloud(pki, monkeypatch) as world, LoopbackProxy(hosts=world.hosts) as proxy:
        through(monkeypatch, proxy)
        result = run_checks("tls.ocsp")["tls.ocsp"]
    assert result.status is Status.SKIP
    assert "names no OCSP responder: normal today" in result.outcome.summary


def test_c26_responder_only_reachable_through_http_proxy(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, responder_server: HTTPServer
) -> None:
    """C26: HTTPS_PROXY is set, HTTP_PROXY is not: the plain-http OCSP request goes direct,
    where the responder's name does not even resolve (direct egress is blocked)."""
    leaf = pki.public_ca.issue("api.syntask.cloud", ocsp=RESPONDER)
    responder_server.expect_request("/r1", method="POST").respond_with_handler(
        Responder(pki.public_ca, leaf)
    )
    with cloud(pki, monkeypatch, api_leaf=leaf) as world:
        hosts = {**world.hosts, "ocsp.doctor-test.invalid": ("127.0.0.1", responder_server.port)}
        with LoopbackProxy(hosts=hosts) as proxy:
            monkeypatch.setenv("HTTPS_PROXY", proxy.url)
            result = run_checks("tls.ocsp")["tls.ocsp"]
            assert result.status is Status.WARN, everything(result)
            assert "cannot be reached" in result.outcome.summary
            assert "browsers, other tools and strict firewalls do" in result.outcome.summary
            assert any("follows HTTP_PROXY, which is not set" in d for d in result.outcome.details)
            assert result.outcome.remedy == f"export HTTP_PROXY={proxy.url}  (OCSP is plain http)"
            # The fix it proposes works.
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            fixed = run_checks("tls.ocsp")["tls.ocsp"]
    assert fixed.status is Status.PASS, everything(fixed)


def test_inspected_leaf_without_responder_is_skipped(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Behind inspection the leaf is the proxy's own, minted without AIA: nothing to ask."""
    bundle = tmp_path / "corp.pem"
    bundle.write_bytes(public.read_bytes() + pem(pki.corp_root.cert))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with (
        cloud(pki, monkeypatch) as world,
        InspectingProxy(pki.corp_root, world.hosts, public) as proxy,
    ):
        through(monkeypatch, proxy)
        result = run_checks("tls.ocsp")["tls.ocsp"]
    assert result.status is Status.SKIP, everything(result)
    assert "CN=api.syntask.cloud" in result.outcome.summary


def test_c26_proxy_password_never_shown_in_the_proposed_http_proxy(
    pki: Pki, public: Path, monkeypatch: pytest.MonkeyPatch, responder_server: HTTPServer
) -> None:
    leaf = pki.public_ca.issue("api.syntask.cloud", ocsp=RESPONDER)
    with cloud(pki, monkeypatch, api_leaf=leaf) as world:
        credentials = ("alice", "s3cret-pass")
        with LoopbackProxy(mode="basic", credentials=credentials, hosts=world.hosts) as proxy:
            monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret-pass@127.0.0.1:{proxy.port}")
            result = run_checks("tls.ocsp")["tls.ocsp"]
    assert result.status is Status.WARN, everything(result)
    assert "s3cret-pass" not in everything(result) + str(result.outcome.data)
    assert (result.outcome.remedy or "").startswith("export HTTP_PROXY=http://alice:****@127.0.0.1")
