"""tls.ca_bundle: the CA source of each client path, what is wrong with it, and the fix."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from pathlib import Path

import certifi
import pytest
import trustme
from conftest import doctor, everything, run_checks
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from syntask_doctor.model import Result, Status

INSECURE = "SYNTASK_API_TLS_INSECURE_SKIP_VERIFY"


def ca_check() -> Result:
    return run_checks("tls.ca_bundle")["tls.ca_bundle"]


def expired_root_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Expired Corp Root")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_healthy_no_variables_both_paths_trust_certifi() -> None:
    result = ca_check()
    assert result.status is Status.PASS
    assert result.outcome.summary == f"Both client paths trust {certifi.where()}"
    paths = {p["client"]: p for p in result.outcome.data["paths"]}
    assert paths["workspace client"]["kind"] == paths["login client"]["kind"] == "certifi"


def test_healthy_combined_bundle(ca_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
    result = ca_check()
    assert result.status is Status.PASS, everything(result)
    assert result.outcome.summary == f"Both client paths trust {ca_bundle}"
    assert any("public roots, 0 expired" in line for line in result.outcome.details)


def _make(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.pem"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "no-pem":
        path.write_text("corporate root: see the intranet page\n")
    elif kind == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    return path


C20_FAULTS = {
    "missing": ("no such file", "FileNotFoundError (without naming the file)"),
    "directory": ("it is a directory, not a file", "IsADirectoryError"),
    "empty": ("the file is empty", "SSLError"),
    "no-pem": ("it holds no PEM certificate", "SSLError"),
    "binary": ("it is binary data, not PEM text", "SSLError"),
}


@pytest.mark.parametrize("kind", sorted(C20_FAULTS))
def test_c20_broken_ssl_cert_file_fails_naming_variable_path_and_fault(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C20: SSL_CERT_FILE is read by both paths: both cannot start; no traceback."""
    path = _make(kind, tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    result = ca_check()
    what, raises = C20_FAULTS[kind]
    summary = result.outcome.summary
    assert result.status is Status.FAIL
    assert summary.startswith(f"SSL_CERT_FILE={str(path)!r}: {what}")
    assert "workspace client and the login client cannot start" in summary
    assert f"both raise {raises} before any request" in summary
    assert result.outcome.remedy is not None
    assert "SSL_CERT_FILE" in result.outcome.remedy


@pytest.mark.parametrize("kind", sorted(C20_FAULTS))
def test_c20_broken_syntask_cert_file_fails_the_workspace_client(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C20: SYNTASK_API_SSL_CERT_FILE is read by the workspace client alone."""
    path = _make(kind, tmp_path)
    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", str(path))
    result = ca_check()
    what, raises = C20_FAULTS[kind]
    assert result.status is Status.FAIL
    summary = result.outcome.summary
    assert summary.startswith(f"SYNTASK_API_SSL_CERT_FILE={str(path)!r}: {what}")
    assert summary.endswith(
        f". The workspace client cannot start: it raises {raises} before any request"
    )
    assert "SYNTASK_API_SSL_CERT_FILE" in (result.outcome.remedy or "")


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SYNTASK_API_SSL_CERT_FILE"])
@pytest.mark.parametrize("kind", sorted(C20_FAULTS))
def test_c20_through_the_cli_offline_no_traceback(
    variable: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _make(kind, tmp_path)
    monkeypatch.setenv(variable, str(path))
    run = doctor("--offline", "--format", "json")
    statuses = {r["id"]: r for r in run.json()["results"]}
    assert statuses["tls.ca_bundle"]["status"] == "fail"
    assert str(path) in statuses["tls.ca_bundle"]["summary"]
    assert variable in statuses["tls.ca_bundle"]["summary"]
    assert [r["id"] for r in statuses.values() if r["status"] == "error"] == []
    assert "Traceback" not in run.stdout + run.stderr
    assert run.exit_code == 1
    text = doctor("--offline", "--only", "tls.ca_bundle")
    assert "Traceback" not in text.stdout + text.stderr
    assert C20_FAULTS[kind][0] in " ".join(text.stdout.split())


def test_c19_requests_ca_bundle_is_ignored(
    ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C19: REQUESTS_CA_BUNDLE set, SSL_CERT_FILE not: warn and point SSL_CERT_FILE at it."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    result = ca_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        "REQUESTS_CA_BUNDLE is set, but no Syntask client path reads it"
    )
    assert result.outcome.remedy == f"export SSL_CERT_FILE={ca_bundle}  # read by both client paths"
    assert result.outcome.data["ignored_variables"] == ["REQUESTS_CA_BUNDLE"]


def test_c19_variant_root_only_file_gets_a_combined_bundle(
    ca_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NODE_EXTRA_CA_CERTS adds to the public roots; as SSL_CERT_FILE it would replace them."""
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", str(ca_only))
    result = ca_check()
    assert result.status is Status.WARN
    assert "NODE_EXTRA_CA_CERTS is set" in result.outcome.summary
    assert f'cat "$(python -m certifi)" {ca_only}' in (result.outcome.remedy or "")


def test_c19_not_raised_once_ssl_cert_file_is_set(
    ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_bundle))
    assert ca_check().status is Status.PASS


def test_c21_root_alone_replaces_public_roots(
    ca_only: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C21: SSL_CERT_FILE with only the corporate root: warn, propose a combined bundle."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_only))
    result = ca_check()
    assert result.status is Status.WARN
    summary = result.outcome.summary
    assert "none of the public roots" in summary
    assert "replaces them instead of adding to them" in summary
    assert result.outcome.remedy == (
        f'cat "$(python -m certifi)" {ca_only} > ~/syntask-ca-bundle.pem '
        "&& export SSL_CERT_FILE=~/syntask-ca-bundle.pem"
    )


def test_combined_bundle_command_really_works(
    ca_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proposed command, run in a shell, yields a bundle the check passes."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_only))
    remedy = ca_check().outcome.remedy or ""
    home = tmp_path / "shell-home"
    home.mkdir()
    python = shutil.which("python") or "python"
    script = (
        remedy.replace("python -m certifi", f"{python} -m certifi") + ' && echo "$SSL_CERT_FILE"'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env={"HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    bundle = Path(done.stdout.strip())
    assert bundle == home / "syntask-ca-bundle.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert ca_check().status is Status.PASS


def test_ssl_cert_dir_only_is_read_by_the_login_client_alone(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C17's static half: SSL_CERT_DIR is the login path's, never the workspace path's."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to hash the folder")
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "corp.pem").write_bytes(ca.cert_pem.bytes())
    subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    result = ca_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith(
        f"SSL_CERT_DIR={str(folder)!r} is read by the login client only"
    )
    assert "never reads it" in result.outcome.summary
    assert "SSL_CERT_FILE" in (result.outcome.remedy or "")
    paths = {p["client"]: p["kind"] for p in result.outcome.data["paths"]}
    assert paths == {"workspace client": "certifi", "login client": "dir"}


def test_unhashed_ssl_cert_dir_fails(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "corp.pem").write_bytes(ca.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    result = ca_check()
    assert result.status is Status.FAIL
    assert "no hashed certificate names" in result.outcome.summary
    assert f"openssl rehash {folder}" in result.outcome.summary
    assert "login client then fails every TLS handshake" in result.outcome.summary


def test_missing_ssl_cert_dir_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "nowhere"))
    result = ca_check()
    assert result.status is Status.FAIL
    assert "the folder does not exist" in result.outcome.summary


def test_workspace_and_login_split_by_syntask_setting(
    ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C17's static half: only SYNTASK_API_SSL_CERT_FILE set; login keeps certifi."""
    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", str(ca_bundle))
    result = ca_check()
    assert result.status is Status.WARN
    assert "trust different CA sets" in result.outcome.summary
    assert result.outcome.remedy == (
        f"export SSL_CERT_FILE={ca_bundle} && unset SYNTASK_API_SSL_CERT_FILE"
        "  # one file, read by both paths"
    )


def test_expired_certificate_in_bundle_warns(
    ca_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bundle.pem"
    path.write_bytes(ca_bundle.read_bytes() + expired_root_pem())
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    result = ca_check()
    assert result.status is Status.WARN
    assert "1 of" in result.outcome.summary
    assert "have expired" in result.outcome.summary
    assert "Expired Corp Root" in result.outcome.summary
    assert "expired 2001-01-01" in result.outcome.summary


def test_verification_off_warns_loudly(ca_only: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSECURE, "true")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_only))  # a second warning must not hide it
    result = ca_check()
    assert result.status is Status.WARN
    assert result.outcome.summary.startswith("TLS VERIFICATION IS OFF")
    assert "accept ANY certificate" in result.outcome.summary
    assert result.outcome.data["verification_disabled"] is True
    assert INSECURE in (result.outcome.remedy or "")


def test_broken_workspace_file_is_a_warning_while_verification_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INSECURE, "1")
    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", str(tmp_path / "gone.pem"))
    result = ca_check()
    assert result.status is Status.WARN
    assert "fails as soon as it is on" in everything(result)


@pytest.mark.parametrize("value", ["maybe", "ture", "2"])
def test_garbage_insecure_value_is_reported_once_by_the_settings_check(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INSECURE, value)
    results = run_checks("tls.ca_bundle", "settings.profile")
    assert results["tls.ca_bundle"].status is Status.PASS
    assert results["settings.profile"].status is Status.FAIL
    assert INSECURE in results["settings.profile"].outcome.summary


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_device_or_pipe_as_ca_file_fails_at_once(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user: /dev/zero was read without end and a FIFO blocked the run."""
    if kind == "device":
        path = "/dev/zero"
    else:
        path = str(tmp_path / "pipe.pem")
        os.mkfifo(path)
    monkeypatch.setenv("SSL_CERT_FILE", path)
    result = run_checks("tls.ca_bundle")["tls.ca_bundle"]
    assert result.status is Status.FAIL
    assert "not a regular file" in result.outcome.summary


def test_an_ignored_variable_naming_a_broken_file_is_not_proposed_as_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a new user: REQUESTS_CA_BUNDLE=<missing file> was proposed as SSL_CERT_FILE."""
    missing = tmp_path / "gone.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(missing))
    result = run_checks("tls.ca_bundle")["tls.ca_bundle"]
    assert result.status is Status.WARN
    assert result.outcome.remedy is not None
    assert f"export SSL_CERT_FILE={missing}" not in result.outcome.remedy
    assert "cannot be used either" in result.outcome.remedy
