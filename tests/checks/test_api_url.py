"""settings.api_url: Cloud workspace, self-hosted, and every kind of wrong address. No network."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ACCOUNT, KEY, WORKSPACE, doctor, run_checks

from syntask_doctor.api_url import examine
from syntask_doctor.model import Result, Status

ROOT = "https://api.syntask.cloud/api"
GOOD = f"{ROOT}/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"


def url_check(monkeypatch: pytest.MonkeyPatch, url: str | None) -> Result:
    if url is not None:
        monkeypatch.setenv("SYNTASK_API_URL", url)
    return run_checks("settings.api_url")["settings.api_url"]


def profiles_file(text: str) -> None:
    path = Path.home() / ".syntask" / "profiles.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


def test_cloud_workspace_url_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, GOOD)

    assert result.status is Status.PASS
    assert result.outcome.summary == "Syntask Cloud workspace URL"
    assert result.outcome.data["kind"] == "cloud"
    assert result.outcome.data["account_id"] == ACCOUNT
    assert result.outcome.data["workspace_id"] == WORKSPACE


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4200/api", "http://localhost:4200/api", "http://[::1]:4200/api"]
)
def test_self_hosted_on_loopback_passes_even_over_http(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    result = url_check(monkeypatch, url)

    assert result.status is Status.PASS
    assert result.outcome.data["kind"] == "self-hosted"
    assert result.outcome.summary.startswith("Self-hosted server at ")
    assert "plain http is fine on loopback: nothing crosses the network" in result.outcome.details


def test_self_hosted_over_https_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, "https://syntask.internal.example/api")
    assert result.status is Status.PASS
    assert result.outcome.summary == (
        "Self-hosted server at syntask.internal.example: it needs no API key"
    )


def test_self_hosted_plain_http_on_the_network_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, "http://10.0.0.10:4200/api")

    assert result.status is Status.WARN
    assert result.outcome.data["kind"] == "self-hosted"
    assert result.outcome.summary == (
        "SYNTASK_API_URL uses plain http:// to 10.0.0.10: everything sent, a key included,"
        " crosses the network unencrypted"
    )


def test_c01_web_ui_address_fails_and_gives_the_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """C01: the browser's address; the check builds the API URL from both ids."""
    ui = f"https://app.syntask.cloud/account/{ACCOUNT}/workspace/{WORKSPACE}/dashboard"
    result = url_check(monkeypatch, ui)

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "SYNTASK_API_URL is the web UI address (copied from the browser), not the API address"
    )
    assert f"the API URL to use: {GOOD}" in result.outcome.details
    assert (
        result.outcome.remedy
        == f'export SYNTASK_API_URL="{GOOD}" (where your shell, CI or container sets it)'
    )
    assert result.outcome.data["suggested"] == GOOD


def test_c01_through_the_cli_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    ui = f"https://app.syntask.cloud/account/{ACCOUNT}/workspace/{WORKSPACE}/dashboard"
    monkeypatch.setenv("SYNTASK_API_URL", ui)
    monkeypatch.setenv("SYNTASK_API_KEY", KEY)

    run = doctor("--offline", "--format", "json", "--only", "settings")
    (found,) = [r for r in run.json()["results"] if r["id"] == "settings.api_url"]

    assert found["status"] == "fail"
    assert "web UI" in found["summary"]
    assert GOOD in found["remedy"]
    assert run.exit_code == 1
    assert KEY not in run.stdout + run.stderr


def test_c01_web_ui_with_handles_cannot_be_turned_into_an_api_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = url_check(monkeypatch, "https://app.syntask.cloud/account/acme/workspace/prod")

    assert result.status is Status.FAIL
    assert result.outcome.data["problems"] == ["web-ui", "not-uuid"]
    assert result.outcome.data["suggested"] is None
    assert (
        "also: SYNTASK_API_URL holds account id 'acme' and workspace id 'prod', which are not"
        " a UUID (handles such as 'my-team' are not ids)" in result.outcome.details
    )
    assert "/account/<ACCOUNT-ID>/workspace/<WORKSPACE-ID>" in (result.outcome.remedy or "")


def test_c01_web_ui_root_without_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, "https://app.syntask.cloud/")
    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "SYNTASK_API_URL is a web UI address (app.syntask.cloud) with no workspace ids in it"
    )


@pytest.mark.parametrize(
    ("url", "problems", "suggested"),
    [
        ("https://api.syntask.cloud", ["missing-api", "not-workspace"], None),
        ("http://10.0.0.10:4200", ["missing-api", "plain-http"], "http://10.0.0.10:4200/api"),
        ("http://127.0.0.1:4200/", ["missing-api"], "http://127.0.0.1:4200/api"),
        ("http://127.0.0.1:4200/dashboard", ["missing-api"], "http://127.0.0.1:4200/api"),
        ("https://host.example:4200/api/api", ["doubled-api"], "https://host.example:4200/api"),
        (f"{ROOT}/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}", ["doubled-api"], GOOD),
        (
            f"https://api.syntask.cloud/accounts/{ACCOUNT}/workspaces/{WORKSPACE}",
            ["missing-api"],
            GOOD,
        ),
    ],
)
def test_c02_api_path_missing_or_doubled(
    monkeypatch: pytest.MonkeyPatch, url: str, problems: list[str], suggested: str | None
) -> None:
    """C02: judged from the text alone; nothing is contacted (10.0.0.10 is never reached)."""
    result = url_check(monkeypatch, url)

    assert result.status is Status.FAIL
    assert result.outcome.data["problems"] == problems
    assert result.outcome.data["suggested"] == suggested
    word = "lacks the /api path" if problems[0] == "missing-api" else "has /api twice"
    assert result.outcome.summary.startswith(f"SYNTASK_API_URL {word}")
    if suggested:
        assert suggested in (result.outcome.remedy or "")


def test_c02_cloud_root_alone_names_the_workspace_template(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, "https://api.syntask.cloud")
    assert (
        "also: SYNTASK_API_URL is the Cloud API root, not a workspace URL"
        f" ({ROOT}/accounts/<ACCOUNT-ID>/workspaces/<WORKSPACE-ID>)" in result.outcome.details
    )


def test_c02_cli_offline_makes_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_URL", "http://10.0.0.10:4200")
    run = doctor("--offline", "--format", "json", "--only", "settings.api_url")

    (found,) = run.json()["results"]
    assert found["status"] == "fail"
    assert found["data"]["suggested"] == "http://10.0.0.10:4200/api"


def test_c03_http_for_cloud_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """C03: http:// to the Cloud host; the key would travel in clear text."""
    result = url_check(monkeypatch, "http" + GOOD.removeprefix("https"))

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "SYNTASK_API_URL uses http:// for Syntask Cloud: Cloud needs https://, and the key"
        " would travel unencrypted before any redirect"
    )
    assert result.outcome.data["suggested"] == GOOD
    assert result.outcome.data["kind"] == "cloud"


def test_singular_account_and_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, f"{ROOT}/account/{ACCOUNT}/workspace/{WORKSPACE}")

    assert result.status is Status.FAIL
    assert result.outcome.data["problems"] == ["singular"]
    assert "/accounts/ and /workspaces/" in result.outcome.summary
    assert result.outcome.data["suggested"] == GOOD


def test_ids_that_are_not_uuids(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, f"{ROOT}/accounts/acme/workspaces/{WORKSPACE[:-1]}")

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "SYNTASK_API_URL holds account id 'acme' and workspace id"
        f" '{WORKSPACE[:-1]}', which are not a UUID (handles such as 'my-team' are not ids)"
    )
    assert result.outcome.data["suggested"] is None


@pytest.mark.parametrize(
    ("url", "what"),
    [
        (f'"{GOOD}"', "quotes around it ('\"' before and '\"' after)"),
        (f"{GOOD}\n", "whitespace around it ('\\n' after)"),
        (f" '{GOOD}' ", 'quotes and whitespace around it (" \'" before and "\' " after)'),
        (f'" {GOOD}"', "quotes and whitespace around it ('\" ' before and '\"' after)"),
    ],
)
def test_stray_quotes_or_whitespace(monkeypatch: pytest.MonkeyPatch, url: str, what: str) -> None:
    result = url_check(monkeypatch, url)

    assert result.status is Status.FAIL
    assert result.outcome.summary == f"SYNTASK_API_URL has {what}"
    assert result.outcome.data["suggested"] == GOOD


def test_space_inside_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, f"{ROOT}/accounts/{ACCOUNT} /workspaces/{WORKSPACE}")
    assert result.status is Status.FAIL
    assert result.outcome.summary == "SYNTASK_API_URL contains ' ' at character 76: URLs have none"


@pytest.mark.parametrize(
    ("url", "summary", "suggested"),
    [
        ("localhost:4200/api", "has no http:// in front", "http://localhost:4200/api"),
        ("syntask.internal:4200/api", "has no http:// or https:// in front", None),
        ("ftp://host/api", "is not an http:// or https:// URL with a host", None),
        ("https://host:port/api", "cannot be read as a URL (bad host or port)", None),
        ("https://[::1/api", "cannot be read as a URL (bad host or port)", None),
    ],
)
def test_not_a_usable_url(
    monkeypatch: pytest.MonkeyPatch, url: str, summary: str, suggested: str | None
) -> None:
    result = url_check(monkeypatch, url)

    assert result.status is Status.FAIL
    assert result.outcome.summary == f"SYNTASK_API_URL {summary}"
    assert result.outcome.data["suggested"] == suggested


def test_trailing_slash_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, f"{GOOD}/")
    assert result.status is Status.WARN
    assert result.outcome.data["suggested"] == GOOD


def test_path_after_the_workspace_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(monkeypatch, f"{GOOD}/flows")
    assert result.status is Status.FAIL
    assert result.outcome.summary == "SYNTASK_API_URL goes on after the workspace id (/flows)"
    assert result.outcome.data["suggested"] == GOOD


def test_cloud_shaped_path_on_another_host_is_self_hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    result = url_check(
        monkeypatch, f"https://private.example/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"
    )
    assert result.status is Status.WARN
    assert result.outcome.data["kind"] == "self-hosted"
    assert "the client treats it as a self-hosted server" in result.outcome.summary


def test_custom_cloud_root_is_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    root = "https://cloud.corp.example/api"
    monkeypatch.setenv("SYNTASK_CLOUD_API_URL", root)
    result = url_check(monkeypatch, f"{root}/accounts/{ACCOUNT}/workspaces/{WORKSPACE}")
    assert result.status is Status.PASS
    assert result.outcome.data["kind"] == "cloud"


def test_c04_unset_warns_and_names_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """C04: no API URL anywhere; the client runs a throw-away local server."""
    result = url_check(monkeypatch, None)

    assert result.status is Status.WARN
    assert result.outcome.summary == (
        "No API URL is set: the client will run a throw-away local server, so nothing reaches"
        " Syntask Cloud or your own server"
    )
    for name in ("env", ".env file", "syntask.toml", "pyproject.toml", "profile 'default'"):
        assert name in result.outcome.details[0]
    assert "`syntask cloud login`" in (result.outcome.remedy or "")


def test_empty_url_hiding_the_profile_url_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    profiles_file(f'[profiles.default]\nSYNTASK_API_URL = "{GOOD}"\n')
    result = url_check(monkeypatch, "")

    assert result.status is Status.FAIL
    assert result.outcome.summary.startswith(
        "SYNTASK_API_URL is set to an empty string (in env): the client will run a throw-away"
    )
    assert f"it overrides profile 'default', which holds {GOOD!r}" in result.outcome.details
    assert (result.outcome.remedy or "").startswith("`unset SYNTASK_API_URL`")


def test_fix_is_written_for_the_source_that_wins(clean_env: Path) -> None:
    ui = f"https://app.syntask.cloud/account/{ACCOUNT}/workspace/{WORKSPACE}"
    profiles_file(f'[profiles.default]\nSYNTASK_API_URL = "{ui}"\n')
    remedy = run_checks("settings.api_url")["settings.api_url"].outcome.remedy
    assert remedy == f'`syntask config set SYNTASK_API_URL="{GOOD}"`'

    (clean_env / "syntask.toml").write_text(f'[api]\nurl = "{ui}"\n')
    remedy = run_checks("settings.api_url")["settings.api_url"].outcome.remedy
    assert remedy == f'in {clean_env / "syntask.toml"}, under [api] write url = "{GOOD}"'


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cretpass@host.example/api/api",
        "'https://user:s3cretpass@host.example/api'",
        "http://user:s3cretpass@10.0.0.10:4200/api",
    ],
)
def test_password_in_the_url_is_never_shown(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    result = url_check(monkeypatch, url)
    outcome = result.outcome
    assert "s3cretpass" not in repr(
        (outcome.summary, outcome.details, outcome.remedy, outcome.data)
    )
    assert result.status in (Status.FAIL, Status.WARN)

    run = doctor("--offline", "--format", "json", "--only", "settings.api_url")
    assert "s3cretpass" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "url",
    ["", " ", "://", "http://", "https://:80/api", "https://[x]/api", "\x00", "h" * 5000],
)
def test_examine_never_raises(url: str) -> None:
    diagnosis = examine(url, ROOT)
    assert diagnosis.problems
