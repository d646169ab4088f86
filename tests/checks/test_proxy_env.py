"""proxy.env: every proxy variable as httpx reads it, what breaks, and the route to each host."""

from __future__ import annotations

import importlib.util
import os
import ssl

import certifi
import httpx
import pytest
from conftest import doctor, everything_with_data, run_checks

from syntask_doctor.hosts import ALLOW_LIST
from syntask_doctor.model import Result, Status

CORP = "http://proxy.corp.example:8080"
HOSTS = [name for name, _, _ in ALLOW_LIST]
SOCKS_MISSING = importlib.util.find_spec("socksio") is None
CONTEXT = ssl.create_default_context(cafile=certifi.where())


def proxy_check() -> Result:
    return run_checks("proxy.env")["proxy.env"]


def httpx_proxy_for(url: str) -> str | None:
    """httpx's own choice under the current environment (private API, tests only)."""
    with httpx.Client(trust_env=True, verify=CONTEXT) as client:
        transport = client._transport_for_url(httpx.URL(url))
        if transport is client._transport:
            return None
        proxy = transport._pool._proxy_url  # type: ignore[attr-defined]
        port = f":{proxy.port}" if proxy.port else ""
        return f"{proxy.scheme.decode()}://{proxy.host.decode()}{port}"


def assert_routes_equal_httpx(result: Result) -> None:
    routes = result.outcome.data["routes"]
    assert routes
    for route in routes:
        chosen = httpx_proxy_for(route["url"])
        assert route["route"] == ("direct" if chosen is None else f"proxy {chosen}"), route


def test_healthy_no_proxy_variables() -> None:
    result = proxy_check()
    assert result.status is Status.PASS
    assert result.outcome.summary == "No proxy: every host is reached directly"
    assert_routes_equal_httpx(result)


def test_healthy_corporate_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("HTTP_PROXY", CORP)
    result = proxy_check()
    assert result.status is Status.PASS, everything_with_data(result)
    assert result.outcome.summary == f"Routes through proxy {CORP}"
    assert "HTTPS_PROXY='http://proxy.corp.example:8080': used" in result.outcome.details
    assert_routes_equal_httpx(result)


def test_c10_star_dot_no_proxy_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """C10: the API host goes through the proxy; '*.' is named; '.internal.example' proposed."""
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("NO_PROXY", "*.internal.example")
    monkeypatch.setenv("SYNTASK_API_URL", "https://syntask.internal.example/api")
    result = proxy_check()
    assert result.status is Status.WARN
    summary = result.outcome.summary
    assert summary.startswith("NO_PROXY entry '*.internal.example': httpx does not understand '*.'")
    assert f"syntask.internal.example still goes through the proxy {CORP}" in summary
    assert result.outcome.remedy == "export NO_PROXY='.internal.example'"
    routes = {r["host"]: r for r in result.outcome.data["routes"]}
    api = routes["syntask.internal.example"]
    assert api["route"] == f"proxy {CORP}"
    assert api["missed"] == ["*.internal.example"]
    assert_routes_equal_httpx(result)

    monkeypatch.setenv("NO_PROXY", ".internal.example")
    fixed = proxy_check()
    assert fixed.status is Status.PASS, everything_with_data(fixed)
    routes = {r["host"]: r for r in fixed.outcome.data["routes"]}
    assert routes["syntask.internal.example"]["route"] == "direct"
    assert_routes_equal_httpx(fixed)


def test_c10_kind_entry_meant_for_the_host_but_narrower(monkeypatch: pytest.MonkeyPatch) -> None:
    """'.internal.example' covers subdomains only: the bare domain still goes to the proxy."""
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("NO_PROXY", ".internal.example")
    monkeypatch.setenv("SYNTASK_API_URL", "https://internal.example/api")
    result = proxy_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        f"internal.example goes through the proxy {CORP} although NO_PROXY entry "
        "'.internal.example' looks meant for it"
    )
    assert result.outcome.remedy == "export NO_PROXY='.internal.example,internal.example'"
    assert_routes_equal_httpx(result)


def test_c11_proxy_without_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    """C11: warn that httpx assumes http:// and other tools may not; show the corrected value."""
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp.example:8080")
    result = proxy_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        "HTTPS_PROXY='proxy.corp.example:8080' has no scheme: httpx assumes http://"
    )
    assert "other tools" in result.outcome.summary
    assert result.outcome.remedy == "export HTTPS_PROXY='http://proxy.corp.example:8080'"
    assert_routes_equal_httpx(result)


def test_c13_socks5_without_socksio(monkeypatch: pytest.MonkeyPatch) -> None:
    """C13: socks5:// fails at client creation when socksio is missing, even for NO_PROXY hosts."""
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:7890")
    result = proxy_check()
    if SOCKS_MISSING:
        assert result.status is Status.FAIL
        summary = result.outcome.summary
        assert summary.startswith("ALL_PROXY='socks5://127.0.0.1:7890' names a SOCKS proxy")
        assert "socksio package) is not installed" in summary
        assert "even to hosts in NO_PROXY" in summary
        assert (
            result.outcome.remedy == "Install it where Syntask runs: `pip install 'httpx[socks]'`"
        )
        assert result.outcome.data["setup_errors"][0]["exception"] == "ImportError"
    else:
        assert result.status is Status.PASS
        assert "SOCKS support (the socksio package) is installed" in result.outcome.details
    assert result.outcome.data["socks_installed"] is not SOCKS_MISSING


@pytest.mark.parametrize("scheme", ["socks", "socks4"])
def test_c13_socks_scheme_httpx_does_not_accept(
    scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C13 variant: socks:// names the variable, the scheme, SOCKS support and the install."""
    monkeypatch.setenv("ALL_PROXY", f"{scheme}://127.0.0.1:7890")
    result = proxy_check()
    assert result.status is Status.FAIL
    summary = result.outcome.summary
    assert summary.startswith(
        f"ALL_PROXY='{scheme}://127.0.0.1:7890': httpx does not accept the scheme {scheme}://"
    )
    assert "'Unknown scheme for proxy URL'" in summary
    installed = "is not installed" if SOCKS_MISSING else "is installed"
    assert f"SOCKS support (the socksio package) {installed}" in summary
    remedy = result.outcome.remedy or ""
    assert remedy.startswith("export ALL_PROXY='socks5://127.0.0.1:7890'")
    assert ("pip install 'httpx[socks]'" in remedy) is SOCKS_MISSING


def test_c13_nothing_fails_when_no_proxy_is_star(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_PROXY='*' makes httpx mount nothing: even a broken proxy value is never built."""
    monkeypatch.setenv("ALL_PROXY", "socks://127.0.0.1:7890")
    monkeypatch.setenv("NO_PROXY", "localhost,*")
    result = proxy_check()
    assert result.status is Status.PASS
    assert result.outcome.summary == "No proxy: NO_PROXY contains '*', which turns every proxy off"
    httpx.Client(trust_env=True).close()


def test_c16_empty_lowercase_cancels_uppercase(monkeypatch: pytest.MonkeyPatch) -> None:
    """C16: says no proxy is used for HTTPS, and why."""
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("https_proxy", "")
    result = proxy_check()
    assert result.status is Status.WARN
    summary = result.outcome.summary
    assert summary.startswith("HTTPS_PROXY is set, but https_proxy is set to an empty value")
    assert summary.endswith("no proxy is used for https:// URLs")
    assert result.outcome.remedy is not None
    assert result.outcome.remedy.startswith("unset https_proxy")
    assert {r["route"] for r in result.outcome.data["routes"]} == {"direct"}
    assert_routes_equal_httpx(result)


def test_c16_kind_all_proxy_takes_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("https_proxy", "")
    monkeypatch.setenv("ALL_PROXY", "http://other.example:3128")
    result = proxy_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.endswith("https:// URLs use ALL_PROXY instead")
    assert_routes_equal_httpx(result)


def test_proxy_password_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:S3cretPw@proxy.corp.example:8080")
    monkeypatch.setenv("http_proxy", "alice:S3cretPw@proxy.corp.example:8080")
    result = proxy_check()
    assert "S3cretPw" not in everything_with_data(result)
    assert "alice:****@proxy.corp.example:8080" in everything_with_data(result)
    run = doctor("--offline", "--format", "json")
    assert "S3cretPw" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "value",
    [
        "http://alice:S3#cretPw@proxy.corp.example:8080",
        "http://alice:S3/cretPw@proxy.corp.example:8080",
        "ftp://alice:S3cretPw@proxy.corp.example:8080",
        "socks://alice:S3cretPw@proxy.corp.example:8080",
    ],
)
def test_unusable_proxy_url_fails_with_password_masked(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", value)
    result = proxy_check()
    assert result.status is Status.FAIL
    text = everything_with_data(result)
    for piece in ("S3cretPw", "cretPw", "'S3'"):
        assert piece not in text
    assert "HTTPS_PROXY=" in result.outcome.summary
    assert "every Syntask client fails before sending any request" in result.outcome.summary


def test_unencoded_character_in_password_says_percent_encode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:S3#cretPw@proxy.corp.example:8080")
    result = proxy_check()
    assert "is not percent-encoded" in result.outcome.summary
    assert "# %23" in (result.outcome.remedy or "")


def test_no_proxy_entry_that_breaks_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("no_proxy", "localhost,[::1]")
    result = proxy_check()
    assert result.status is Status.FAIL
    assert result.outcome.summary.startswith("NO_PROXY entry '[::1]' cannot be parsed by httpx")
    assert result.outcome.remedy == "export no_proxy='localhost,::1'"
    with pytest.raises(httpx.InvalidURL):
        httpx.Client(trust_env=True)


@pytest.mark.parametrize(
    ("entry", "remedy"),
    [
        ("10.0.0.0/8", "export NO_PROXY=''  # list the hosts or addresses themselves"),
        ("example.com:443", "export NO_PROXY='example.com'"),
        ("localhost 127.0.0.1", "export NO_PROXY='localhost,127.0.0.1'"),
    ],
)
def test_no_proxy_entries_httpx_misreads_warn(
    entry: str, remedy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("NO_PROXY", entry)
    result = proxy_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(f"NO_PROXY entry {entry!r}:")
    assert (result.outcome.remedy or "").startswith(remedy)


def test_loopback_api_sent_to_a_remote_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", CORP)
    monkeypatch.setenv("SYNTASK_API_URL", "http://127.0.0.1:4200/api")
    result = proxy_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        f"127.0.0.1 is on this machine but goes through the proxy {CORP}"
    )
    assert result.outcome.remedy == "export NO_PROXY='localhost,127.0.0.1,::1'"
    assert_routes_equal_httpx(result)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1,::1")
    assert proxy_check().status is Status.PASS


def test_ignored_variables_are_listed_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FTP_PROXY", CORP)
    result = proxy_check()
    assert result.status is Status.PASS
    assert any(
        line.startswith("FTP_PROXY=") and "httpx ignores" in line for line in result.outcome.details
    )


def test_routes_name_the_deciding_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", CORP)
    monkeypatch.setenv("NO_PROXY", "github.com")
    result = proxy_check()
    routes = {r["host"]: r for r in result.outcome.data["routes"]}
    assert routes["api.syntask.cloud"]["variable"] == "HTTPS_PROXY"
    assert routes["github.com"]["route"] == "direct"
    assert routes["github.com"]["variable"] == "github.com"
    assert routes["api.github.com"]["route"] == "direct"
    assert routes["ocsp.pki.goog"]["route"] == "direct"  # http:// follows HTTP_PROXY, unset
    assert_routes_equal_httpx(result)
    assert os.environ["HTTPS_PROXY"] == CORP


def test_route_table_lists_every_host_with_httpx_route_and_what_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table a user reads: one row per host, the route httpx takes, the deciding entry."""
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:S3cretPw@proxy.corp.example:8080")
    monkeypatch.setenv("NO_PROXY", "github.com,*.internal.example")
    monkeypatch.setenv("SYNTASK_API_URL", "https://syntask.internal.example/api")
    result = proxy_check()
    details = list(result.outcome.details)
    start = details.index("routes (httpx's own decision for each host):")
    rows = {line.split()[0]: line for line in details[start + 2 : start + 2 + len(HOSTS) + 1]}
    assert set(rows) == {*HOSTS, "syntask.internal.example"}
    for host, line in rows.items():
        scheme = "http" if host == "ocsp.pki.goog" else "https"
        chosen = httpx_proxy_for(f"{scheme}://{host}/")
        if chosen is None:
            assert " direct " in line, line
        else:
            assert "proxy http://alice:****@proxy.corp.example:8080  HTTPS_PROXY" in line
    assert rows["github.com"].endswith("NO_PROXY entry 'github.com'")
    assert rows["ocsp.pki.goog"].endswith("no proxy variable applies")
    assert "S3cretPw" not in everything_with_data(result)


def test_unparsable_proxy_without_credentials_gets_url_advice_not_encoding_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by a new user: '::::' was told to percent-encode a password it does not have."""
    monkeypatch.setenv("HTTPS_PROXY", "::::")
    result = run_checks("proxy.env")["proxy.env"]
    assert result.status is Status.FAIL
    assert result.outcome.remedy is not None
    assert "percent-encode" not in result.outcome.remedy
    assert "http://PROXY-HOST:PORT" in result.outcome.remedy
