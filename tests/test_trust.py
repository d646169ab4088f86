"""CA sources per client path and CA file inspection, held to what ssl and httpx really do."""

from __future__ import annotations

import datetime
import os
import shutil
import ssl
import subprocess
from collections.abc import Sequence
from pathlib import Path

import certifi
import httpx
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from syntask_doctor import trust
from syntask_doctor.settings import resolve

CERTIFI_COUNT = Path(certifi.where()).read_bytes().count(b"-----BEGIN CERTIFICATE-----")


def self_signed(name: str, not_before: datetime.datetime, not_after: datetime.datetime) -> bytes:
    """A CA certificate with the validity window asked for, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def expired_root() -> bytes:
    return self_signed(
        "Expired Corp Root",
        datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
    )


def broken_files(tmp_path: Path, ca: trustme.CA) -> dict[str, Path]:
    """Every way a CA file goes wrong in the field, made for real."""
    pem = ca.cert_pem.bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    files = {
        "missing": tmp_path / "missing.pem",
        "directory": tmp_path / "folder",
        "empty": tmp_path / "empty.pem",
        "text": tmp_path / "notes.pem",
        "binary": tmp_path / "binary.pem",
        "der": tmp_path / "root.cer",
        "key": tmp_path / "key.pem",
        "truncated": tmp_path / "truncated.pem",
        "dangling": tmp_path / "dangling.pem",
        "loop": tmp_path / "loop.pem",
    }
    files["directory"].mkdir()
    files["empty"].write_bytes(b"")
    files["text"].write_text("ask IT for the certificate\n")
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    files["der"].write_bytes(der)
    files["key"].write_bytes(ca.private_key_pem.bytes())
    files["truncated"].write_bytes(pem + pem[:200])
    files["dangling"].symlink_to(tmp_path / "gone.pem")
    files["loop"].symlink_to(files["loop"])
    return files


PROBLEMS = {
    "missing": "no such file",
    "directory": "directory, not a file",
    "empty": "the file is empty",
    "text": "no PEM certificate",
    "binary": "binary data",
    "der": "DER certificate",
    "key": "private key",
    "truncated": "certificate 2 of 2 is damaged",
    "dangling": "symbolic link to",
    "loop": "Too many levels of symbolic links",
}


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_inspect_file_agrees_with_ssl_and_httpx(
    kind: str, tmp_path: Path, ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C20: the doctor's verdict and the exception it names are the ones ssl and httpx raise."""
    path = str(broken_files(tmp_path, ca)[kind])
    state = trust.inspect_file(path)
    assert state.problem is not None
    assert PROBLEMS[kind] in state.problem
    with pytest.raises(OSError) as by_ssl:
        ssl.create_default_context(cafile=path)
    assert state.raises == type(by_ssl.value).__name__
    monkeypatch.setenv("SSL_CERT_FILE", path)
    with pytest.raises(OSError) as by_httpx:
        httpx.Client(trust_env=True)
    assert state.raises == type(by_httpx.value).__name__


def test_missing_file_error_of_the_client_has_no_file_name(tmp_path: Path) -> None:
    """Why the doctor must name the path: the client's own error does not."""
    path = tmp_path / "corp-root.pem"
    with pytest.raises(FileNotFoundError) as raised:
        ssl.create_default_context(cafile=str(path))
    assert str(path) not in str(raised.value)


def test_tilde_is_not_expanded_and_the_doctor_says_so(tmp_path: Path) -> None:
    (Path.home() / "root.pem").write_bytes(b"irrelevant")
    state = trust.inspect_file("~/root.pem")
    assert state.raises == "FileNotFoundError"
    assert state.problem is not None
    assert str(Path.home() / "root.pem") in state.problem


def test_whitespace_around_the_path_is_named(ca_bundle: Path) -> None:
    state = trust.inspect_file(f"{ca_bundle}\n")
    assert state.raises == "FileNotFoundError"
    assert "trailing whitespace" in (state.problem or "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path, ca: trustme.CA) -> None:
    path = tmp_path / "locked.pem"
    path.write_bytes(ca.cert_pem.bytes())
    path.chmod(0)
    state = trust.inspect_file(str(path))
    assert state.raises == "PermissionError"
    assert state.problem is not None
    assert "Permission denied" in state.problem


def test_good_bundle_counts_certificates_and_public_roots(ca_bundle: Path) -> None:
    state = trust.inspect_file(str(ca_bundle))
    assert state.problem is None
    assert state.certificates == CERTIFI_COUNT + 1
    assert state.public_roots == CERTIFI_COUNT
    assert state.expired == ()
    assert state.authorities == state.certificates


def test_root_alone_has_no_public_roots(ca_only: Path) -> None:
    state = trust.inspect_file(str(ca_only))
    assert (state.problem, state.certificates, state.public_roots) == (None, 1, 0)


def test_expired_and_future_certificates_are_listed(tmp_path: Path, ca: trustme.CA) -> None:
    future = self_signed(
        "Future Corp Root",
        datetime.datetime(2090, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2091, 1, 1, tzinfo=datetime.UTC),
    )
    path = tmp_path / "bundle.pem"
    path.write_bytes(ca.cert_pem.bytes() + expired_root() + future)
    ssl.create_default_context(cafile=str(path))  # OpenSSL loads expired roots without a word
    state = trust.inspect_file(str(path))
    assert state.problem is None
    assert state.certificates == 3
    assert len(state.expired) == 1
    assert "Expired Corp Root" in state.expired[0]
    assert "2001-01-01" in state.expired[0]
    assert len(state.not_yet_valid) == 1


def test_server_certificate_alone_is_not_an_authority(
    tmp_path: Path, server_cert: trustme.LeafCert
) -> None:
    path = tmp_path / "leaf.pem"
    path.write_bytes(server_cert.cert_chain_pems[0].bytes())
    state = trust.inspect_file(str(path))
    assert (state.problem, state.certificates, state.authorities) == (None, 1, 0)


def test_workspace_source_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own setting, else SSL_CERT_FILE, else certifi; SSL_CERT_DIR never."""
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    source = trust.workspace_source(resolve())
    assert (source.kind, source.location) == ("certifi", certifi.where())
    assert "SSL_CERT_DIR" in source.reason

    monkeypatch.setenv("SSL_CERT_FILE", "/corp/ssl.pem")
    source = trust.workspace_source(resolve())
    assert (source.kind, source.location, source.chosen_by) == (
        "file",
        "/corp/ssl.pem",
        "SSL_CERT_FILE",
    )

    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", "/corp/syntask.pem")
    source = trust.workspace_source(resolve())
    assert (source.location, source.chosen_by) == (
        "/corp/syntask.pem",
        "SYNTASK_API_SSL_CERT_FILE",
    )

    monkeypatch.setenv("SYNTASK_API_SSL_CERT_FILE", "")
    source = trust.workspace_source(resolve())
    assert source.kind == "certifi"
    assert "empty" in source.reason
    assert "hides SSL_CERT_FILE" in source.reason


def test_workspace_source_from_dotenv_names_the_file(clean_env: Path) -> None:
    (clean_env / ".env").write_text("SYNTASK_API_SSL_CERT_FILE=/corp/dotenv.pem\n")
    source = trust.workspace_source(resolve())
    assert source.location == "/corp/dotenv.pem"
    assert ".env" in source.reason


def test_login_source_follows_httpx(
    ca_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The login client's source loads the same CA set httpx itself builds."""

    def loaded_by_httpx() -> Sequence[object]:
        return httpx.create_ssl_context(trust_env=True).get_ca_certs()

    def loaded_by_model() -> Sequence[object]:
        return trust.ssl_context_for(trust.login_source(dict(os.environ))).get_ca_certs()

    assert trust.login_source({}).kind == "certifi"
    assert len(loaded_by_model()) == len(loaded_by_httpx()) > 100

    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert trust.login_source(dict(os.environ)).kind == "dir"
    assert loaded_by_model() == loaded_by_httpx() == []  # a folder is read lazily

    monkeypatch.setenv("SSL_CERT_FILE", str(ca_only))
    source = trust.login_source(dict(os.environ))
    assert (source.kind, source.chosen_by) == ("file", "SSL_CERT_FILE")
    assert loaded_by_model() == loaded_by_httpx()
    assert len(loaded_by_httpx()) == 1


@pytest.mark.parametrize("text", ["true", "True", "1", "yes", "on"])
def test_verification_disabled(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTASK_API_TLS_INSECURE_SKIP_VERIFY", text)
    assert trust.verification_disabled(resolve())


def test_inspect_dir(tmp_path: Path, ca: trustme.CA) -> None:
    assert "does not exist" in (trust.inspect_dir(str(tmp_path / "none")) or "")
    (tmp_path / "file.pem").write_bytes(ca.cert_pem.bytes())
    assert "not a folder" in (trust.inspect_dir(str(tmp_path / "file.pem")) or "")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert trust.inspect_dir(str(empty)) == "the folder is empty"
    assert "openssl rehash" in (trust.inspect_dir(str(tmp_path)) or "")


def _get(server: HTTPServer) -> httpx.Response:
    with httpx.Client(trust_env=True, timeout=5) as client:
        return client.get(server.url_for("/"))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_unhashed_dir_loads_then_fails_every_handshake(
    tls_server: HTTPServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the doctor claims of SSL_CERT_DIR: accepted at start, fails at the handshake,
    works once hashed."""
    tls_server.expect_request("/").respond_with_data("ok")
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "corp-root.pem").write_bytes(ca.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_DIR", str(folder))
    assert trust.inspect_dir(str(folder)) is not None
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(tls_server)

    subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
    assert trust.inspect_dir(str(folder)) is None
    assert _get(tls_server).text == "ok"
