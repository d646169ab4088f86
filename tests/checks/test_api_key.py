"""settings.api_key: needed or not, prefix, length, odd characters, empty, source. No network."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ACCOUNT, KEY, SA_KEY, WORKSPACE, doctor, run_checks

from syntask_doctor.model import Result, Status

CLOUD = f"https://api.syntask.cloud/api/accounts/{ACCOUNT}/workspaces/{WORKSPACE}"
SELF_HOSTED = "http://127.0.0.1:4200/api"
MASKED = f"pnu_****{KEY[-4:]}"


def key_check(monkeypatch: pytest.MonkeyPatch, key: str | None, url: str | None = CLOUD) -> Result:
    if key is not None:
        monkeypatch.setenv("SYNTASK_API_KEY", key)
    if url is not None:
        monkeypatch.setenv("SYNTASK_API_URL", url)
    return run_checks("settings.api_key")["settings.api_key"]


def profiles_file(text: str) -> None:
    path = Path.home() / ".syntask" / "profiles.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


def shown(result: Result) -> str:
    outcome = result.outcome
    return "\n".join([outcome.summary, *outcome.details, outcome.remedy or "", repr(outcome.data)])


def offline_json(*only: str) -> tuple[dict[str, dict[str, object]], str]:
    run = doctor("--offline", "--format", "json", "--only", ",".join(only))
    return {r["id"]: r for r in run.json()["results"]}, run.stdout + run.stderr


@pytest.mark.parametrize(("key", "kind"), [(KEY, "user key"), (SA_KEY, "service-account key")])
def test_well_formed_keys_pass_service_accounts_included(
    monkeypatch: pytest.MonkeyPatch, key: str, kind: str
) -> None:
    result = key_check(monkeypatch, key)

    assert result.status is Status.PASS
    assert result.outcome.data["kind"] == kind
    assert result.outcome.data["needed"] is True
    assert result.outcome.summary == f"{kind.capitalize()}, key {key[:4]}****{key[-4:]} (from env)"
    assert key not in shown(result)


def test_c06_key_from_profile_is_reported_with_its_source_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """C06 (format and source part): the key lives in profile 'default'."""
    profiles_file(f'[profiles.default]\nSYNTASK_API_URL = "{CLOUD}"\nSYNTASK_API_KEY = "{KEY}"\n')
    result = key_check(monkeypatch, None, url=None)

    assert result.status is Status.PASS
    assert result.outcome.summary == f"User key, key {MASKED} (from profile 'default')"
    assert result.outcome.data["source"] == "profile 'default'"
    assert result.outcome.data["masked"] == MASKED
    assert KEY not in shown(result)


def test_c06_through_the_cli_never_prints_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    profiles_file(f'[profiles.default]\nSYNTASK_API_URL = "{CLOUD}"\nSYNTASK_API_KEY = "{KEY}"\n')
    results, output = offline_json("settings")

    assert results["settings.api_key"]["status"] == "pass"
    assert MASKED in output
    assert KEY not in output


@pytest.mark.parametrize(
    ("key", "kind", "what"),
    [
        ("pcu_" + "x" * 36, "legacy", "is from the previous product generation (pcu)"),
        ("pcuABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "legacy", "previous product generation"),
        ("sk_live_" + "a" * 32, "unknown", "has no known prefix"),
        ("A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8xxxx", "unknown", "has no known prefix"),
    ],
)
def test_c07_key_without_a_syntask_cloud_prefix_warns(
    monkeypatch: pytest.MonkeyPatch, key: str, kind: str, what: str
) -> None:
    """C07 (format part): judged before any network call; pnu_ and pnb_ are named."""
    result = key_check(monkeypatch, key)

    assert result.status is Status.WARN
    assert result.outcome.data["kind"] == kind
    assert what in result.outcome.summary
    assert "pnu_ (user) or pnb_ (service account)" in result.outcome.summary
    assert (result.outcome.remedy or "").startswith(
        "Create a new API key in the Syntask Cloud web UI"
    )
    assert key not in shown(result)


def test_c07_offline_cli_warns_and_makes_no_call(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "pcu_" + "Q" * 36
    monkeypatch.setenv("SYNTASK_API_KEY", key)
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD)
    results, output = offline_json("settings.api_key", "api.auth")

    assert results["settings.api_key"]["status"] == "warn"
    # Offline, the live key check (and the host check it needs) never runs.
    assert results["api.auth"]["status"] == "skip"
    assert key not in output


@pytest.mark.parametrize(
    ("key", "summary"),
    [
        (KEY[:-3], "has 37 characters where Syntask keys have 40"),
        (KEY + "abc", "has 43 characters where Syntask keys have 40"),
        (KEY[:20] + "-" + KEY[21:], "has a character other than a letter or digit at character 21"),
    ],
)
def test_key_of_the_wrong_shape_warns(
    monkeypatch: pytest.MonkeyPatch, key: str, summary: str
) -> None:
    result = key_check(monkeypatch, key)

    assert result.status is Status.WARN
    assert (
        result.outcome.summary
        == f"The user key {summary}: probably cut off or pasted with extra text"
    )
    assert key not in shown(result)


def test_c08_trailing_newline_fails_naming_it_and_where(monkeypatch: pytest.MonkeyPatch) -> None:
    """C08: a secret made with `echo` ends in a newline; httpx refuses the header."""
    result = key_check(monkeypatch, KEY + "\n")

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "The API key has a newline ('\\n') at its end: the HTTP library refuses the header"
        " ('Illegal header value'), so no request leaves"
    )
    assert result.outcome.details[0] == f"key {MASKED} (from env)"
    assert "`printf '%s'`" in (result.outcome.remedy or "")
    assert KEY not in shown(result)


def test_c08_trailing_newline_through_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_KEY", KEY + "\n")
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD)
    results, output = offline_json("settings")

    assert results["settings.api_key"]["status"] == "fail"
    assert KEY not in output


def test_c08_empty_env_var_hides_the_profile_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """C08: `SYNTASK_API_KEY=` wins over the profile's key, and no header is sent."""
    profiles_file(f'[profiles.default]\nSYNTASK_API_KEY = "{KEY}"\n')
    result = key_check(monkeypatch, "")

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "SYNTASK_API_KEY is set to an empty string (in env): it hides the key in profile"
        " 'default'; the client sends no Authorization header and Cloud answers 401"
    )
    assert f"it overrides profile 'default', which holds {MASKED}" in result.outcome.details
    assert result.outcome.remedy == (
        "`unset SYNTASK_API_KEY` (and remove it where your shell, CI or container sets it),"
        " so the key below it applies"
    )
    assert result.outcome.data["overrides"] == ["profile 'default'"]
    assert KEY not in shown(result)


def test_c08_empty_env_var_through_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    profiles_file(f'[profiles.default]\nSYNTASK_API_KEY = "{KEY}"\n')
    monkeypatch.setenv("SYNTASK_API_KEY", "")
    monkeypatch.setenv("SYNTASK_API_URL", CLOUD)
    results, output = offline_json("settings")

    assert results["settings.api_key"]["status"] == "fail"
    assert "empty string" in str(results["settings.api_key"]["summary"])
    assert KEY not in output


def test_empty_key_alone_for_cloud_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, "")
    assert result.status is Status.FAIL
    assert result.outcome.remedy == (
        "`unset SYNTASK_API_KEY` (and remove it where your shell, CI or container sets it),"
        " or set a valid key there"
    )


def test_empty_key_in_dotenv_names_that_file(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    (clean_env / ".env").write_text("SYNTASK_API_KEY=\n")
    result = key_check(monkeypatch, None)

    assert result.status is Status.FAIL
    assert "(in .env file)" in result.outcome.summary
    assert result.outcome.remedy == (
        f"remove the SYNTASK_API_KEY line from {clean_env / '.env'}, or set a valid key there"
    )


@pytest.mark.parametrize(
    ("key", "problem", "refused"),
    [
        (KEY + " ", "a space at its end", True),
        (KEY + "\r\n", "a carriage return ('\\r') and a newline ('\\n') at its end", True),
        (" " + KEY, "a space at its start", False),
        (f'"{KEY}"', "a double quote at its start", False),
        (KEY[:10] + "\u200b" + KEY[10:], "the non-ASCII character '\\u200b' (zero width space)"
         " inside it, at character 11", True),
        (KEY[:10] + "\n" + KEY[10:], "a newline ('\\n') inside it, at character 11", True),
        ("Bearer " + KEY, "a space inside it, at character 7", False),
    ],
)  # fmt: skip
def test_odd_characters_fail_and_say_where(
    monkeypatch: pytest.MonkeyPatch, key: str, problem: str, refused: bool
) -> None:
    result = key_check(monkeypatch, key)

    assert result.status is Status.FAIL
    assert result.outcome.summary.startswith(f"The API key has {problem}: ")
    consequence = "refuses the header" if refused else "API"
    assert consequence in result.outcome.summary
    assert KEY not in shown(result)


def test_quotes_on_both_ends_are_both_named(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, f"'{KEY}'")
    assert result.outcome.details[1] == "it also has a single quote at its end"


def test_no_key_for_cloud_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, None)
    assert result.status is Status.FAIL
    assert result.outcome.summary == "No API key is set, and Syntask Cloud needs one"


def test_no_key_for_a_self_hosted_server_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, None, url=SELF_HOSTED)
    assert result.status is Status.PASS
    assert result.outcome.data["needed"] is False


def test_key_for_a_self_hosted_server_is_not_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, "anything-at-all", url=SELF_HOSTED)
    assert result.status is Status.PASS
    assert result.outcome.summary == (
        "API key ****-all (from env); a self-hosted server needs none"
    )


def test_key_with_newline_breaks_self_hosted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header is refused whatever the server, so even a self-hosted server is unreachable."""
    result = key_check(monkeypatch, KEY + "\n", url=SELF_HOSTED)
    assert result.status is Status.FAIL


def test_quoted_key_for_self_hosted_only_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, f'"{KEY}"', url=SELF_HOSTED)
    assert result.status is Status.WARN


def test_c04_key_without_url_is_unused(monkeypatch: pytest.MonkeyPatch) -> None:
    """C04: only SYNTASK_API_KEY is set; the key goes nowhere."""
    result = key_check(monkeypatch, KEY, url=None)

    assert result.status is Status.SKIP
    assert result.outcome.summary == (
        f"The API key {MASKED} (from env) is unused: no API URL is set, so the client runs"
        " a throw-away local server"
    )


def test_nothing_set_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, None, url=None)
    assert result.status is Status.SKIP


def test_env_key_overriding_profile_key_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    old = "pnu_" + "Z" * 32 + "OLD1"
    profiles_file(f'[profiles.default]\nSYNTASK_API_KEY = "{old}"\n')
    result = key_check(monkeypatch, KEY)

    assert result.status is Status.PASS
    assert "it overrides profile 'default', which holds pnu_****OLD1" in result.outcome.details
    assert old not in shown(result)


def test_empty_api_url_counts_as_no_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """`SYNTASK_API_URL=` means a throw-away local server: no key is needed or sent."""
    assert key_check(monkeypatch, None, url="").status is Status.SKIP
    result = key_check(monkeypatch, KEY + "\n", url="")
    assert result.status is Status.SKIP
    assert "it has a newline ('\\n') at its end" in result.outcome.details


def test_unusable_api_url_leaves_the_need_open(monkeypatch: pytest.MonkeyPatch) -> None:
    result = key_check(monkeypatch, None, url="ftp://host/api")
    assert result.status is Status.SKIP
    assert result.outcome.summary == "No API key; the API URL is unusable (see settings.api_url)"
    assert key_check(monkeypatch, "pcu_" + "x" * 36, url="ftp://host/api").status is Status.WARN
