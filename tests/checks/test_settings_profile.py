"""settings.profile: the profiles file, the active profile, every source, unknown names."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import KEY, doctor, everything, run_checks

from syntask_doctor.model import Result, Status


def profiles_file(text: str) -> Path:
    path = Path.home() / ".syntask" / "profiles.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def profile_check() -> Result:
    return run_checks("settings.profile")["settings.profile"]


def test_healthy_profile_passes_and_names_its_file(clean_env: Path) -> None:
    path = profiles_file(
        'active = "work"\n[profiles.work]\nSYNTASK_API_URL = "http://127.0.0.1:4200/api"\n'
    )
    result = profile_check()

    assert result.status is Status.PASS
    assert result.outcome.summary == f"Active profile 'work' from {path}"
    assert "active profile: 'work' (chosen by profiles file)" in result.outcome.details
    assert f"  profile 'work' ({path}): SYNTASK_API_URL" in result.outcome.details


def test_c04_every_source_looked_at_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C04: nothing set; the report lists env, the working-directory files and the profile."""
    monkeypatch.setenv("SYNTASK_API_KEY", KEY)
    results = run_checks("settings.profile", "settings.api_url", "settings.api_key")
    profile = results["settings.profile"].outcome
    path = Path.home() / ".syntask" / "profiles.toml"

    assert results["settings.profile"].status is Status.PASS
    assert profile.summary == (
        f"Active profile 'default' (no profiles file at {path}: the client uses its defaults)"
    )
    assert profile.details[:4] == (
        f"profiles file: {path} (from default location)",
        "active profile: 'default' (chosen by default)",
        f"working directory: {clean_env}",
        "sources looked at, highest first:",
    )
    assert profile.details[4:10] == (
        "  env: SYNTASK_API_KEY",
        f"  .env file ({clean_env / '.env'}): not present",
        f"  syntask.toml ({clean_env / 'syntask.toml'}): not present",
        f"  pyproject.toml ({clean_env / 'pyproject.toml'}): not present",
        f"  profile 'default' ({path}): not present",
        "  defaults",
    )
    url = results["settings.api_url"]
    assert url.status is Status.WARN
    assert url.outcome.summary.startswith("No API URL is set: the client will run a throw-away")
    assert f"profile 'default' ({path})" in url.outcome.details[0]
    assert "SYNTASK_API_KEY is set (from env) but unused without an API URL" in url.outcome.details
    key = results["settings.api_key"]
    assert key.status is Status.SKIP
    assert "unused" in key.outcome.summary


def test_c04_through_the_cli_with_an_empty_environment(clean_env: Path) -> None:
    run = doctor("--offline", "--format", "json", "--only", "settings")
    results = {r["id"]: r for r in run.json()["results"]}

    assert results["settings.profile"]["status"] == "pass"
    assert results["settings.api_url"]["status"] == "warn"
    assert "throw-away local server" in results["settings.api_url"]["summary"]
    assert results["settings.api_key"]["status"] == "skip"
    assert run.exit_code == 0


def test_winner_over_lower_sources_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles_file(f'[profiles.default]\nSYNTASK_API_KEY = "{KEY}"\n')
    (clean_env / "syntask.toml").write_text('[api]\nkey = "x"\n')
    monkeypatch.setenv("SYNTASK_API_KEY", "")

    details = profile_check().outcome.details

    assert "SYNTASK_API_KEY: env wins over syntask.toml, profile 'default'" in details


def test_broken_toml_fails_with_line_column_and_no_secret(clean_env: Path) -> None:
    path = profiles_file(f'active = "default"\n\n[profiles.default]\nSYNTASK_API_KEY = {KEY}\n')
    result = profile_check()
    text = everything(result)

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        f"The profiles file {path} cannot be used: every syntask command stops on it"
    )
    assert (
        f"{path} is not valid TOML at line 4, column 19 (the line setting SYNTASK_API_KEY)" in text
    )
    assert 'a value needs quotes: NAME = "value"' in (result.outcome.remedy or "")
    assert KEY not in text


def test_broken_toml_through_the_cli_never_shows_the_key(clean_env: Path) -> None:
    profiles_file(f"[profiles.default]\nSYNTASK_API_KEY = {KEY}\n")
    run = doctor("--offline", "--format", "json", "--only", "settings")

    results = {r["id"]: r for r in run.json()["results"]}
    assert results["settings.profile"]["status"] == "fail"
    assert run.exit_code == 1
    assert KEY not in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_bytes(b"\x00\x01\xff\xfe binary"), "is not UTF-8 text (byte 2 is 0xff)"),
        (lambda p: p.mkdir(), "is a directory, not a file"),
        (os.mkfifo, "is not a regular file"),
    ],
    ids=["binary", "directory", "pipe"],
)
def test_unusable_profiles_file_fails_naming_what_is_wrong(
    clean_env: Path, make: Callable[[Path], object], expected: str
) -> None:
    path = Path.home() / ".syntask" / "profiles.toml"
    path.parent.mkdir()
    make(path)

    result = profile_check()

    assert result.status is Status.FAIL
    assert f"{path} {expected}" in result.outcome.details[0]
    assert result.outcome.remedy == (
        f"Move {path} aside and run `syntask cloud login` to write a new one, or point"
        " SYNTASK_PROFILES_PATH at the right file"
    )


def test_broken_working_directory_file_fails_and_names_it(clean_env: Path) -> None:
    (clean_env / "syntask.toml").write_text("[api\nurl = 1\n")
    result = profile_check()

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        "syntask.toml in the working directory cannot be read by the client either"
    )
    assert result.outcome.details[0].endswith(
        "is not valid TOML at line 1, column 5: Expected ']' at the end of a table declaration"
    )
    assert result.outcome.remedy == f"Fix or remove {clean_env / 'syntask.toml'}"


@pytest.mark.parametrize("how", ["SYNTASK_PROFILE", "profiles file", "--profile"])
def test_unknown_active_profile_warns_and_falls_back(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    active = 'active = "prod"\n' if how == "profiles file" else ""
    path = profiles_file(f"{active}[profiles.default]\n[profiles.staging]\n")
    if how == "SYNTASK_PROFILE":
        monkeypatch.setenv("SYNTASK_PROFILE", "prod")

    result = run_checks("settings.profile", profile="prod" if how == "--profile" else None)[
        "settings.profile"
    ]

    assert result.status is Status.WARN
    assert result.outcome.summary == (
        f"Profile 'prod' (chosen by {how}) does not exist in {path}: the client warns and"
        " falls back to 'default'"
    )
    assert "profiles in the file: 'default', 'staging'" in result.outcome.details
    expected = {
        "SYNTASK_PROFILE": "Set SYNTASK_PROFILE to an existing profile, or `unset SYNTASK_PROFILE`",
        "profiles file": "`syntask profile use default`",
        "--profile": "Pass an existing profile name to --profile",
    }
    assert result.outcome.remedy == expected[how]


def test_misspelt_setting_in_env_warns_with_the_right_name(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_API_URLL", "http://127.0.0.1:4200/api")
    result = profile_check()

    assert result.status is Status.WARN
    assert result.outcome.summary == "SYNTASK_API_URLL in env is not a setting the client reads"
    assert result.outcome.remedy == "Rename SYNTASK_API_URLL in env to SYNTASK_API_URL"
    assert result.outcome.data["unknown_keys"] == ["SYNTASK_API_URLL"]


def test_misspelt_key_in_syntask_toml_is_spelled_as_toml(clean_env: Path) -> None:
    (clean_env / "syntask.toml").write_text('[api]\nkye = "x"\n')
    result = profile_check()

    assert result.status is Status.WARN
    assert result.outcome.remedy == "Rename SYNTASK_API_KYE in syntask.toml to key under [api]"


def test_profile_key_without_prefix_is_named(clean_env: Path) -> None:
    profiles_file("[profiles.default]\nAPI_URL = 'http://127.0.0.1:4200/api'\n")
    result = profile_check()

    assert result.status is Status.WARN
    assert result.outcome.remedy == "Rename API_URL in profile 'default' to SYNTASK_API_URL"


def test_unknown_name_outside_api_is_only_listed(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTASK_ZEBRA", "1")
    result = profile_check()

    assert result.status is Status.PASS
    assert (
        "SYNTASK_ZEBRA in env is not a setting syntask-doctor knows; the client ignores"
        " unknown names" in result.outcome.details
    )


def test_top_level_setting_in_syntask_toml_warns(clean_env: Path) -> None:
    (clean_env / "syntask.toml").write_text('SYNTASK_API_URL = "http://127.0.0.1:4200/api"\n')
    result = profile_check()

    assert result.status is Status.WARN
    assert "write it as [api] url = ..." in result.outcome.summary


def test_unparsable_dotenv_line_warns(clean_env: Path) -> None:
    (clean_env / ".env").write_text("SYNTASK_API_URL=http://127.0.0.1:4200/api\nnot a line\n")
    result = profile_check()

    assert result.status is Status.WARN
    assert result.outcome.summary == (
        f"{clean_env / '.env'} line 2 cannot be parsed; the client skips it"
    )


@pytest.mark.parametrize("value", ["maybe", "", "yes please"])
def test_garbage_in_a_boolean_env_var_fails(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SYNTASK_API_ENABLE_HTTP2", value)
    result = profile_check()

    assert result.status is Status.FAIL
    assert result.outcome.summary == (
        f"SYNTASK_API_ENABLE_HTTP2={value!r} (from env) is not true or false: the client"
        " refuses to start"
    )
    assert (result.outcome.remedy or "").startswith('export SYNTASK_API_ENABLE_HTTP2="false"')


def test_garbage_boolean_in_profile_gets_a_profile_fix(clean_env: Path) -> None:
    profiles_file("[profiles.default]\nSYNTASK_API_TLS_INSECURE_SKIP_VERIFY = 'sometimes'\n")
    result = profile_check()

    assert result.status is Status.FAIL
    assert "(from profile 'default')" in result.outcome.summary
    assert (
        result.outcome.remedy == '`syntask config set SYNTASK_API_TLS_INSECURE_SKIP_VERIFY="false"`'
    )


def test_syntask_profiles_path_is_reported_as_the_origin(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = clean_env / "custom.toml"
    path.write_text("[profiles.default]\n")
    monkeypatch.setenv("SYNTASK_PROFILES_PATH", str(path))
    result = profile_check()

    assert result.status is Status.PASS
    assert f"profiles file: {path} (from SYNTASK_PROFILES_PATH)" in result.outcome.details
    assert result.outcome.data["profiles_path_origin"] == "SYNTASK_PROFILES_PATH"


def test_broken_profiles_file_still_lists_a_bad_boolean_elsewhere(clean_env: Path) -> None:
    path = profiles_file("[profiles.default\n")
    (clean_env / ".env").write_text("SYNTASK_API_TLS_INSECURE_SKIP_VERIFY=maybe\n")
    result = profile_check()

    assert result.status is Status.FAIL
    assert result.outcome.summary.startswith(f"The profiles file {path} cannot be used")
    assert (
        "SYNTASK_API_TLS_INSECURE_SKIP_VERIFY='maybe' (from .env file) is not true or false:"
        " the client refuses to start" in result.outcome.details
    )
    assert (
        "active profile: 'default' (chosen by default) (the profiles file, which may name"
        " another, is unreadable)" in result.outcome.details
    )
    assert f"  profile 'default' ({path}): unreadable (see above)" in result.outcome.details


def test_broken_profiles_file_is_named_by_the_url_check(clean_env: Path) -> None:
    path = profiles_file("[profiles.default]\nSYNTASK_API_URL = http://x\n")
    result = run_checks("settings.api_url")["settings.api_url"]

    assert result.status is Status.WARN
    assert (
        f"profile 'default' ({path}) could not be read, so a URL in it counts for nothing"
        " (see settings.profile)" in result.outcome.details
    )
