"""Settings resolution mirrors the client: profile choice, file locations, precedence, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import KEY

from syntask_doctor import settings as names
from syntask_doctor.settings import Settings, resolve

URLS = {
    "env": "https://env.example/api",
    ".env file": "https://dotenv.example/api",
    "syntask.toml": "https://toml.example/api",
    "pyproject.toml": "https://pyproject.example/api",
    "profile": "https://profile.example/api",
}


def write_all_layers(home: Path, work: Path) -> dict[str, str]:
    """Define SYNTASK_API_URL in every source; returns the environment that sets it too."""
    (work / ".env").write_text(f'SYNTASK_API_URL="{URLS[".env file"]}"\n')
    (work / "syntask.toml").write_text(f'[api]\nurl = "{URLS["syntask.toml"]}"\n')
    (work / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n\n[tool.syntask.api]\nurl = "{URLS["pyproject.toml"]}"\n'
    )
    profiles = home / "profiles.toml"
    profiles.write_text(f'[profiles.default]\nSYNTASK_API_URL = "{URLS["profile"]}"\n')
    return {"SYNTASK_HOME": str(home), "SYNTASK_API_URL": URLS["env"]}


def source(settings: Settings, label: str) -> names.Source:
    return next(s for s in settings.sources if s.label.startswith(label))


# --- precedence --------------------------------------------------------------------------


ORDER = ["env", ".env file", "syntask.toml", "pyproject.toml", "profile"]


@pytest.mark.parametrize("removed", range(len(ORDER)))
def test_precedence_table_each_source_beats_every_lower_one(tmp_path: Path, removed: int) -> None:
    home, work = tmp_path / "h", tmp_path / "w"
    home.mkdir()
    work.mkdir()
    env = write_all_layers(home, work)
    # Take away the `removed` highest sources: the next one must win, and hide all below it.
    files = {
        ".env file": ".env",
        "syntask.toml": "syntask.toml",
        "pyproject.toml": "pyproject.toml",
    }
    for label in ORDER[:removed]:
        if label == "env":
            del env["SYNTASK_API_URL"]
        else:
            (work / files[label]).unlink()

    value = resolve(env=env, cwd=work).values[names.API_URL]

    winner = ORDER[removed]
    assert (value.source, value.value) == (winner, URLS[winner])
    assert [src for src, _ in value.shadowed] == ORDER[removed + 1 :]


def test_defaults_when_no_source_defines_a_setting(tmp_path: Path) -> None:
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)

    assert settings.api_url is None
    assert settings.source_of(names.API_URL) == "defaults"
    assert settings.cloud_api_url == "https://api.syntask.cloud/api"
    assert settings.get(names.TLS_INSECURE) == "false"
    assert settings.get(names.ENABLE_HTTP2) == "false"
    assert settings.get(names.SSL_CERT_FILE) is None


def test_ca_file_setting_defaults_to_ssl_cert_file(tmp_path: Path) -> None:
    env = {"SYNTASK_HOME": str(tmp_path), "SSL_CERT_FILE": "/etc/corp.pem"}
    settings = resolve(env=env, cwd=tmp_path)
    assert settings.get(names.SSL_CERT_FILE) == "/etc/corp.pem"
    assert settings.source_of(names.SSL_CERT_FILE) == "defaults"

    env[names.SSL_CERT_FILE] = "/etc/other.pem"
    assert resolve(env=env, cwd=tmp_path).get(names.SSL_CERT_FILE) == "/etc/other.pem"


def test_empty_env_variable_still_wins_and_hides_the_profile_key(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(f'[profiles.default]\nSYNTASK_API_KEY = "{KEY}"\n')
    env = {"SYNTASK_HOME": str(tmp_path), "SYNTASK_API_KEY": ""}

    value = resolve(env=env, cwd=tmp_path).values[names.API_KEY]

    assert (value.value, value.source) == ("", "env")
    assert value.shadowed == (("profile", KEY),)


# --- which profile, which file -----------------------------------------------------------


PROFILES = """\
active = "from-file"

[profiles.default]
SYNTASK_API_URL = "https://default.example/api"

[profiles.from-file]
SYNTASK_API_URL = "https://file.example/api"

[profiles.from-env]
SYNTASK_API_URL = "https://env.example/api"

[profiles.from-flag]
SYNTASK_API_URL = "https://flag.example/api"
"""


@pytest.mark.parametrize(
    ("flag", "env_profile", "expected", "origin"),
    [
        ("from-flag", "from-env", "from-flag", "--profile"),
        (None, "from-env", "from-env", "SYNTASK_PROFILE"),
        (None, None, "from-file", "profiles file"),
    ],
)
def test_active_profile_flag_then_env_then_file(
    tmp_path: Path, flag: str | None, env_profile: str | None, expected: str, origin: str
) -> None:
    (tmp_path / "profiles.toml").write_text(PROFILES)
    env = {"SYNTASK_HOME": str(tmp_path)}
    if env_profile:
        env["SYNTASK_PROFILE"] = env_profile

    settings = resolve(env=env, cwd=tmp_path, profile_flag=flag)

    assert (settings.profile, settings.profile_origin) == (expected, origin)
    assert settings.api_url == f"https://{expected.split('-')[1]}.example/api"
    assert settings.profile_missing is None
    assert source(settings, "profile").label == f"profile {expected!r}"


def test_default_profile_when_file_names_none(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(PROFILES.replace('active = "from-file"', ""))
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    assert (settings.profile, settings.profile_origin) == ("default", "default")
    assert settings.api_url == "https://default.example/api"


@pytest.mark.parametrize("how", ["--profile", "SYNTASK_PROFILE", "profiles file"])
def test_unknown_profile_falls_back_to_default(tmp_path: Path, how: str) -> None:
    text = PROFILES.replace(
        'active = "from-file"', 'active = "nope"' if how == "profiles file" else ""
    )
    (tmp_path / "profiles.toml").write_text(text)
    env = {"SYNTASK_HOME": str(tmp_path)}
    if how == "SYNTASK_PROFILE":
        env["SYNTASK_PROFILE"] = "nope"

    settings = resolve(env=env, cwd=tmp_path, profile_flag="nope" if how == "--profile" else None)

    assert (settings.profile, settings.profile_missing, settings.profile_origin) == (
        "default",
        "nope",
        how,
    )
    assert settings.api_url == "https://default.example/api"


def test_profiles_path_beats_syntask_home(tmp_path: Path) -> None:
    home = tmp_path / "syntask-home"
    home.mkdir()
    (home / "profiles.toml").write_text('[profiles.default]\nSYNTASK_API_URL = "https://h/api"\n')
    chosen = tmp_path / "elsewhere.toml"
    chosen.write_text('[profiles.default]\nSYNTASK_API_URL = "https://p/api"\n')
    env = {"SYNTASK_HOME": str(home), "SYNTASK_PROFILES_PATH": str(chosen)}

    settings = resolve(env=env, cwd=tmp_path)

    assert (settings.profiles_path, settings.profiles_path_origin) == (
        chosen,
        "SYNTASK_PROFILES_PATH",
    )
    assert settings.api_url == "https://p/api"
    del env["SYNTASK_PROFILES_PATH"]
    settings = resolve(env=env, cwd=tmp_path)
    assert (settings.profiles_path, settings.api_url) == (home / "profiles.toml", "https://h/api")


def test_default_profiles_location_is_under_home() -> None:
    settings = resolve()
    assert settings.profiles_path == Path(os.environ["HOME"]) / ".syntask" / "profiles.toml"
    assert settings.profiles_path_origin == "default location"


def test_relative_and_tilde_profiles_paths(tmp_path: Path) -> None:
    env = {"SYNTASK_PROFILES_PATH": "conf/p.toml"}
    assert resolve(env=env, cwd=tmp_path).profiles_path == tmp_path / "conf" / "p.toml"
    env = {"SYNTASK_PROFILES_PATH": "~/p.toml"}
    assert resolve(env=env, cwd=tmp_path).profiles_path == Path.home() / "p.toml"


# --- the file formats --------------------------------------------------------------------


def test_syntask_toml_nested_tables_become_setting_names(tmp_path: Path) -> None:
    (tmp_path / "syntask.toml").write_text(
        "[api]\n"
        'url = "https://t/api"\n'
        'key = "k"\n'
        "tls_insecure_skip_verify = true\n"
        'ssl_cert_file = "/ca.pem"\n'
        "[cloud]\n"
        'api_url = "https://cloud.example/api"\n'
    )
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)

    assert settings.api_url == "https://t/api"
    assert settings.api_key == "k"
    assert settings.get(names.TLS_INSECURE) == "true"
    assert settings.get(names.SSL_CERT_FILE) == "/ca.pem"
    assert settings.cloud_api_url == "https://cloud.example/api"
    assert settings.source_of(names.API_URL) == "syntask.toml"


def test_syntask_toml_top_level_name_is_not_read_and_noted(tmp_path: Path) -> None:
    work = tmp_path / "{braces}"  # a path that str.format would choke on
    work.mkdir()
    (work / "syntask.toml").write_text('SYNTASK_API_URL = "https://t/api"\n')
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=work)

    assert settings.api_url is None
    (note,) = source(settings, "syntask.toml").notes
    assert "[api] url" in note


def test_pyproject_tool_syntask_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.syntask]\napi.url = "https://py/api"\n\n[tool.other]\nx = 1\n'
    )
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    assert (settings.api_url, settings.source_of(names.API_URL)) == (
        "https://py/api",
        "pyproject.toml",
    )


@pytest.mark.parametrize("text", ["tool = 1\n", "[tool]\nsyntask = 'x'\n", "[project]\n"])
def test_pyproject_odd_shapes_give_no_settings_and_no_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    assert source(settings, "pyproject.toml").state == "read"
    assert settings.api_url is None


def test_dotenv_parsed_like_python_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n"
        "export SYNTASK_API_URL='https://d/api'\n"
        "this line is broken\n"
        "SYNTASK_API_KEY=${OTHER}\n"
        "OTHER=abc\n"
        "SYNTASK_API_ENABLE_HTTP2\n"
    )
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    dotenv = source(settings, ".env file")

    assert settings.api_url == "https://d/api"
    assert settings.source_of(names.API_URL) == ".env file"
    # A name without "=" has no value for python-dotenv: the default stays.
    assert settings.source_of(names.ENABLE_HTTP2) == "defaults"
    assert dotenv.notes == (f"{tmp_path / '.env'} line 3 cannot be parsed; the client skips it",)
    assert "OTHER" not in dotenv.keys


def test_profile_values_become_text_and_every_key_is_listed(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(
        "[profiles.default]\nSYNTASK_API_ENABLE_HTTP2 = true\nAPI_URL = 'x'\n"
        "[profiles.default.api]\nurl = 'y'\n"
    )
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    profile = source(settings, "profile")

    assert settings.get(names.ENABLE_HTTP2) == "true"
    assert profile.keys == ("API_URL", "SYNTASK_API_ENABLE_HTTP2")
    assert "profiles hold plain NAME = value pairs" in profile.notes[0]


# --- bad input never raises --------------------------------------------------------------


def test_toml_error_names_line_column_and_key_but_not_the_value(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text(
        f'active = "default"\n[profiles.default]\nSYNTASK_API_KEY = {KEY}\n'
    )
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    profile = source(settings, "profile")

    assert profile.state == "broken"
    assert profile.error is not None
    assert "line 3, column 19" in profile.error
    assert "SYNTASK_API_KEY" in profile.error
    assert KEY not in profile.error
    assert settings.api_key is None


def test_toml_error_at_end_of_document(tmp_path: Path) -> None:
    (tmp_path / "syntask.toml").write_text('[api]\nurl = "https://unterminated')
    toml = source(resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path), "syntask.toml")
    assert toml.state == "broken"
    assert toml.error == (
        f"{tmp_path / 'syntask.toml'} is not valid TOML at the end of the file: Unterminated string"
    )


@pytest.mark.parametrize("name", ["profiles.toml", ".env", "syntask.toml", "pyproject.toml"])
def test_non_utf8_file_is_reported_not_raised(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    broken = [s for s in settings.sources if s.state == "broken"]

    assert len(broken) == 1
    assert (
        broken[0].error
        == f"{tmp_path / name} is not UTF-8 text (byte 0 is 0x89); is it a binary file?"
    )


@pytest.mark.parametrize("name", ["profiles.toml", ".env", "syntask.toml"])
def test_directory_where_a_file_should_be(tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    (broken,) = [s for s in settings.sources if s.state == "broken"]
    assert broken.error == f"{tmp_path / name} is a directory, not a file"


def test_pipe_where_a_file_should_be_is_not_read(tmp_path: Path) -> None:
    """Reading a FIFO would block forever: it must be refused without opening it."""
    os.mkfifo(tmp_path / ".env")
    (broken,) = [s for s in resolve(env={}, cwd=tmp_path).sources if s.state == "broken"]
    assert "not a regular file" in (broken.error or "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text("[profiles.default]\n")
    path.chmod(0)
    settings = resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path)
    assert source(settings, "profile").error == f"{path} cannot be read: Permission denied"


def test_profiles_not_a_table_and_profile_not_a_table(tmp_path: Path) -> None:
    (tmp_path / "profiles.toml").write_text("profiles = 3\n")
    notes = source(resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path), "profile").notes
    assert notes == (f"{tmp_path / 'profiles.toml'}: 'profiles' is not a table",)

    (tmp_path / "profiles.toml").write_text("[profiles]\ndefault = 'x'\n")
    notes = source(resolve(env={"SYNTASK_HOME": str(tmp_path)}, cwd=tmp_path), "profile").notes
    assert "profiles.default is not a table" in notes[0]


# --- helpers other modules use -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, False),
        ("true", True),
        (" Yes ", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("off", False),
        ("", None),
        ("maybe", None),
        ("2", None),
    ],
)
def test_parse_bool(text: str | None, expected: bool | None) -> None:
    assert names.parse_bool(text) is expected


def test_known_settings_and_closest_match() -> None:
    assert names.is_known_setting("SYNTASK_API_URL")
    assert names.is_known_setting("SYNTASK_LOGGING_LEVEL")
    assert not names.is_known_setting("SYNTASK_API_URLL")
    assert names.closest_setting("SYNTASK_API_URLL") == "SYNTASK_API_URL"
    assert names.closest_setting("SYNTASK_APY_KEY") == "SYNTASK_API_KEY"
    assert names.closest_setting("SYNTASK_SOMETHING_ELSE") is None


def test_how_to_set_and_unset_speak_to_the_winning_source(tmp_path: Path) -> None:
    def advice(**env: str) -> tuple[str, str]:
        settings = resolve(env={"SYNTASK_HOME": str(tmp_path), **env}, cwd=tmp_path)
        return (
            names.how_to_set(settings, names.API_URL, "https://x/api"),
            names.how_to_unset(settings, names.API_URL),
        )

    assert advice() == (
        '`syntask config set SYNTASK_API_URL="https://x/api"`',
        "`syntask config unset SYNTASK_API_URL`",
    )
    set_env, unset_env = advice(SYNTASK_API_URL="y")
    assert set_env.startswith('export SYNTASK_API_URL="https://x/api"')
    assert unset_env.startswith("`unset SYNTASK_API_URL`")
    (tmp_path / "syntask.toml").write_text("[api]\nurl = 'y'\n")
    assert advice() == (
        f'in {tmp_path / "syntask.toml"}, under [api] write url = "https://x/api"',
        f"remove url from [api] in {tmp_path / 'syntask.toml'}",
    )
    (tmp_path / ".env").write_text("SYNTASK_API_URL=y\n")
    assert advice()[0] == f'in {tmp_path / ".env"}, write SYNTASK_API_URL="https://x/api"'
