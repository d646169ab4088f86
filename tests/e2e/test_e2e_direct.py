"""The doctor, unmodified and with its defaults, on a simulated internet with no proxy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from e2e.simnet import HOSTS, KEY, DoctorRun, Internet

pytestmark = pytest.mark.e2e

API_HOST = "host.api.syntask.cloud"
API_CHECKS = ("api.reach", "api.auth", "api.workspace")


def host_check(host: str) -> str:
    return f"host.{host}"


def assert_no_secret(run: DoctorRun) -> None:
    assert KEY not in run.stdout + run.stderr


def layers(run: DoctorRun, check_id: str) -> dict[str, dict[str, object]]:
    return {layer["name"]: layer for layer in run.results[check_id]["data"]["layers"]}


def test_healthy_network_passes_every_check_with_the_defaults(internet: Internet) -> None:
    run = internet.doctor()

    assert run.exit_code == 0, run.stdout + run.stderr
    results = run.results
    for check_id in {*map(host_check, HOSTS), *API_CHECKS, "tls.ca_bundle", "proxy.env"}:
        assert results[check_id]["status"] == "pass", results[check_id]
    problems = {i: r["summary"] for i, r in results.items() if r["status"] not in ("pass", "skip")}
    assert not problems, problems  # a check that cannot apply (no proxy to test) may skip
    for host in HOSTS:
        data = results[host_check(host)]["data"]
        assert data["route"] == "direct"
        expected = (
            ["dns", "tcp", "http"] if host == "ocsp.pki.goog" else ["dns", "tcp", "tls", "http"]
        )
        assert [layer["name"] for layer in data["layers"]] == expected
        assert internet.addresses[host] in str(layers(run, host_check(host))["dns"]["detail"])
    ca = results["tls.ca_bundle"]["data"]["paths"]
    assert {path["kind"] for path in ca} == {"certifi"}  # no CA variable: certifi, as users have
    # certifi's real roots are in the run's bundle: parsing them must not print warnings.
    assert "Warning" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    seen = [request.path for request in internet.web["api.syntask.cloud"].requests]
    assert "/api/me/workspaces" in seen
    assert any(path.endswith("/health") for path in seen)
    assert_no_secret(run)


@pytest.mark.parametrize("fault", ["nxdomain", "no-server"])
def test_dns_failure_fails_the_api_host_at_the_dns_layer(internet: Internet, fault: str) -> None:
    if fault == "nxdomain":
        internet.forget_public_names()
    else:
        internet.stop_dns()

    run = internet.doctor("--timeout", "2")

    assert run.exit_code == 1
    assert run.status(API_HOST) == "fail"
    assert run.failed_layer(API_HOST) == "dns"
    for host in HOSTS[1:]:
        assert run.status(host_check(host)) == "warn"
        assert run.failed_layer(host_check(host)) == "dns"
    for check_id in API_CHECKS:
        assert run.status(check_id) == "skip"
    assert "api.syntask.cloud" in run.results[API_HOST]["summary"]
    assert_no_secret(run)


def test_c27_blackholed_api_fails_at_tcp_within_the_timeout(internet: Internet) -> None:
    """C27: the API host resolves but its address drops every packet."""
    internet.blackhole("api.syntask.cloud")
    timeout = 1.5

    run = internet.doctor("--timeout", str(timeout))

    assert run.exit_code == 1
    assert run.status(API_HOST) == "fail"
    assert run.failed_layer(API_HOST) == "tcp"
    assert float(str(layers(run, API_HOST)["tcp"]["seconds"])) <= timeout + 0.5
    for host in HOSTS[1:]:
        assert run.status(host_check(host)) == "pass"
    assert {run.status(check_id) for check_id in API_CHECKS} == {"skip"}
    # Every check ends about one timeout in (a loaded 2-core CI machine adds scheduling delay;
    # the TCP layer itself is held to timeout + 0.5 above).
    assert max(r["seconds"] for r in run.results.values()) <= timeout + 1.5
    assert run.seconds < 3 * timeout + 5  # the run deadline, plus the process's start-up


def test_c25_github_blackholed_warns_and_the_api_still_passes(internet: Internet) -> None:
    """C25: GitHub unreachable, the Syntask API fine: only the API host may fail the run."""
    internet.blackhole("github.com", "api.github.com")

    run = internet.doctor("--timeout", "1")

    assert run.exit_code == 0, run.stdout
    assert run.json()["verdict"] == "warn"
    for host in ("github.com", "api.github.com"):
        result = run.results[host_check(host)]
        assert result["status"] == "warn"
        assert result["data"]["failed_layer"] == "tcp"
        assert "GitHub" in result["summary"]
    for check_id in (API_HOST, *API_CHECKS):
        assert run.status(check_id) == "pass"


def test_expired_certificate_on_the_api_host_fails_at_the_tls_layer(internet: Internet) -> None:
    internet.expire_certificate("api.syntask.cloud")

    run = internet.doctor()

    assert run.exit_code == 1
    assert run.status(API_HOST) == "fail"
    assert run.failed_layer(API_HOST) == "tls"
    assert "expired" in run.results[API_HOST]["summary"]
    for host in HOSTS[1:]:
        assert run.status(host_check(host)) == "pass"
    assert run.status("api.reach") == "skip"
    assert_no_secret(run)


def test_round_trip_time_shows_in_every_layer(make_internet: Callable[..., Internet]) -> None:
    """Latency on the client's link: each layer of the API host pays at least one round trip,
    and the HTTP exchange exactly one (the simulated servers add no stall of their own)."""
    rtt = 0.2
    internet = make_internet(rtt=rtt)

    run = internet.doctor("--timeout", "5")

    assert run.exit_code == 0, run.stdout + run.stderr
    seconds = {name: float(str(layer["seconds"])) for name, layer in layers(run, API_HOST).items()}
    for name in ("dns", "tcp", "tls", "http"):
        assert seconds[name] >= rtt * 0.9, seconds
    assert seconds["http"] < rtt * 1.5, seconds


@pytest.mark.parametrize(("ahead", "status"), [(90, "warn"), (600, "fail")])
def test_c22_clock_off_from_the_servers_is_reported_with_its_offset(
    internet: Internet, ahead: int, status: str
) -> None:
    """C22: every public host's clock runs ahead of this machine's (its Date header shows it)."""
    internet.skew_clock(ahead)

    run = internet.doctor()

    result = run.results["clock.skew"]
    assert result["status"] == status, result
    assert abs(abs(result["data"]["offset_seconds"]) - ahead) < 5, result["data"]
    assert result["remedy"], result
    assert run.status(API_HOST) == "pass"  # the network itself is fine


def test_ocsp_revoked_api_certificate_fails_tls_ocsp(internet: Internet) -> None:
    """The responder named in the API host's certificate says it is revoked."""
    internet.revoke_certificate("api.syntask.cloud")

    run = internet.doctor("--timeout", "2")

    result = run.results["tls.ocsp"]
    assert result["status"] == "fail", result
    assert result["data"]["status"] == "revoked"
    assert result["data"]["responder"].startswith("http://ocsp.pki.goog/")  # read from the cert
    assert "REVOKED" in result["summary"].upper()
    assert run.exit_code == 1
