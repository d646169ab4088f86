"""Masking and the final scrub."""

from __future__ import annotations

from syntask_doctor.secrets import Scrubber, mask_key, mask_url, mask_urls_in, secret_values

KEY = "pnu_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_a_key_shows_only_its_prefix_and_last_four() -> None:
    assert mask_key(KEY) == "pnu_****Q7r8"
    assert mask_key("pnb_" + "x" * 36) == "pnb_****xxxx"
    assert mask_key("short") == "****"
    assert mask_key("") == ""
    assert mask_key(None) is None


def test_proxy_urls_keep_the_user_and_hide_the_password() -> None:
    assert mask_url("http://alice:s3cret@proxy:8080") == "http://alice:****@proxy:8080"
    assert mask_url("http://tok3nvalue@proxy:8080") == "http://****@proxy:8080"
    assert mask_url("http://proxy:8080") == "http://proxy:8080"
    assert mask_urls_in("URL('socks://bob:pw99@h:1')") == "URL('socks://bob:****@h:1')"


def test_secret_values_collects_keys_tokens_and_proxy_passwords() -> None:
    env = {
        "SYNTASK_API_KEY": KEY,
        "GITHUB_TOKEN": "ghp_abcdefgh",
        "HTTPS_PROXY": "http://u:pa55word@p:1",
        "PATH": "/usr/bin",
    }
    assert secret_values(env) == {KEY, "ghp_abcdefgh", "pa55word"}


def test_the_scrub_replaces_known_values_and_known_shapes() -> None:
    scrub = Scrubber({"hunter22"})
    text = (
        f"key {KEY} pass hunter22 Authorization: Bearer abcdefghijkl "
        "Proxy-Authorization: Basic dXNlcjpwYXNz http://u:pw@h/"
    )
    cleaned = scrub(text)
    for secret in (KEY, "hunter22", "abcdefghijkl", "dXNlcjpwYXNz", ":pw@"):
        assert secret not in cleaned
    assert "Authorization:" in cleaned
    assert "Proxy-Authorization:" in cleaned


def test_the_scrub_removes_pem_private_keys() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow1234secret\n-----END RSA PRIVATE KEY-----"
    cleaned = Scrubber(())(f"before {pem} after")
    assert "MIIEow1234secret" not in cleaned
    assert cleaned.startswith("before -----BEGIN PRIVATE KEY-----")
    assert cleaned.endswith("after")


def test_masking_survives_unencoded_characters_and_missing_schemes() -> None:
    assert mask_url("http://alice:s3c#re/t@proxy:8080") == "http://alice:****@proxy:8080"
    assert mask_url("alice:pw@proxy:8080") == "alice:****@proxy:8080"
    env = {"HTTPS_PROXY": "http://a:p%40ss#x@h:1"}
    assert {"p%40ss#x", "p@ss#x"} <= secret_values(env)
