"""No secret leaves: random keys and proxy passwords, every format, every failure path."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LOCAL_ONLY, FakeCloud, doctor, workspace_item
from proxy_server import LoopbackProxy

from syntask_doctor.formats import FORMATS


def _token(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _assert_absent(texts: list[str], values: list[str]) -> None:
    for value in values:
        for text in texts:
            assert value not in text, f"secret {value[:3]}... leaked"


@pytest.fixture
def secret_env(
    fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[list[str]]:
    """A key in the env and another in the profile; passwords in every proxy variable."""
    env_key = "pnu_" + _token(36)
    profile_key = "pnb_" + _token(36)
    password = _token(20)
    home = tmp_path / "syntask-home"
    home.mkdir()
    (home / "profiles.toml").write_text(
        f'active = "default"\n[profiles.default]\nSYNTASK_API_KEY = "{profile_key}"\n'
    )
    monkeypatch.setenv("SYNTASK_HOME", str(home))
    monkeypatch.setenv("SYNTASK_API_KEY", env_key)
    with LoopbackProxy(mode="basic", credentials=("alice", "other")) as proxy:
        proxy_url = f"http://alice:{password}@127.0.0.1:{proxy.port}"
        for name in ("HTTPS_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy_url)
        yield [env_key, profile_key, password]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_secrets_absent_when_the_proxy_refuses(
    fmt: str, fake_cloud: FakeCloud, secret_env: list[str], tmp_path: Path
) -> None:
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    out = tmp_path / f"report.{fmt}"
    run = doctor("--format", fmt, "-v", *LOCAL_ONLY)
    saved = doctor("--format", fmt, "-v", "--output", str(out), *LOCAL_ONLY)
    assert run.exit_code == 1  # the proxy's 407 breaks the API host
    _assert_absent(
        [run.stdout, run.stderr, saved.stdout, saved.stderr, out.read_text()], secret_env
    )
    assert "alice:****@" in run.stdout  # the user name stays readable, the password does not


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_secrets_absent_when_the_key_is_rejected(
    fmt: str, fake_cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "pnu_" + _token(36)
    monkeypatch.setenv("SYNTASK_API_KEY", key)
    fake_cloud.workspaces(status=401)
    fake_cloud.health(status=401, body='{"detail": "Invalid authentication credentials"}')
    run = doctor("--format", fmt, "-v", *LOCAL_ONLY)
    assert run.exit_code == 1
    _assert_absent([run.stdout, run.stderr], [key])
    assert key[-4:] in run.stdout


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_secrets_absent_for_a_malformed_key_and_a_bad_proxy_scheme(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "pnu_" + _token(36)
    password = _token(16)
    monkeypatch.setenv("SYNTASK_API_KEY", key + "\n")
    monkeypatch.setenv("SYNTASK_API_URL", "https://api.syntask.cloud/api/accounts/x/workspaces/y")
    monkeypatch.setenv("HTTPS_PROXY", f"socks://bob:{password}@127.0.0.1:1")
    run = doctor("--format", fmt, "-v", "--offline")
    assert run.exit_code == 1
    _assert_absent([run.stdout, run.stderr], [key, password])


LEAKY_PLUGIN = """
import os

def run(ctx):
    # A buggy check that puts secrets into its exception: only the final scrub stops them.
    raise RuntimeError(
        "leaked " + os.environ["SYNTASK_API_KEY"] + " and " + os.environ["HTTPS_PROXY"]
        + " Authorization: Bearer " + os.environ["SYNTASK_API_KEY"][4:]
    )

from syntask_doctor.registry import Check
check = Check("leaky.bug", "Leaky", run)
"""


def _install_plugin(root: Path) -> None:
    (root / "leaky_checks.py").write_text(LEAKY_PLUGIN)
    info = root / "leaky_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: leaky_checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[syntask_doctor.checks]\nleaky = leaky_checks:check\n")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_secrets_in_an_internal_error_trace_are_scrubbed(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    key = "pnu_" + _token(36)
    password = _token(18)
    monkeypatch.setenv("SYNTASK_API_KEY", key)
    monkeypatch.setenv("HTTPS_PROXY", f"http://carol:{password}@127.0.0.1:9")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    _install_plugin(plugins)
    monkeypatch.syspath_prepend(str(plugins))
    out = tmp_path / "out.txt"
    run = doctor("--offline", "--format", fmt, "-v", "--save", "--anonymize", "--output", str(out))
    assert run.exit_code == 2  # the plugin's bug is an error result
    saved = [p.read_text() for p in clean_env.iterdir() if p.name.startswith("syntask-doctor-")]
    assert len(saved) == 2
    texts = [run.stdout, run.stderr, out.read_text(), *saved]
    assert any("leaked" in text for text in texts)  # the trace itself is there
    _assert_absent(texts, [key, password, key[4:]])


def test_debug_log_lines_are_scrubbed(tmp_path: Path) -> None:
    """-vv logs to stderr in a real process (pytest captures in-process logging)."""
    key = "pnu_" + _token(36)
    password = _token(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTASK_")}
    env.update(SYNTASK_API_KEY=key + " ", HTTPS_PROXY=f"http://dave:{password}@127.0.0.1:9")
    done = subprocess.run(
        [sys.executable, "-m", "syntask_doctor", "--offline", "-vv"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert "DEBUG" in done.stderr
    _assert_absent([done.stdout, done.stderr], [key, password])
