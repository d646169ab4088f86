"""Canonical sample reports: a clean run, and one with failures, warnings, skips and an error."""

from __future__ import annotations

from syntask_doctor.model import (
    Outcome,
    Report,
    Result,
    SettingView,
    Status,
    SupportAnswers,
    failed,
    passed,
    skipped,
    warned,
)

ENVIRONMENT = {
    "os": "Linux-6.1-x86_64",
    "python": "3.11.7",
    "syntask-doctor": "0.1.0",
    "httpx": "0.28.1",
    "certifi": "2026.10.19",
    "syntask": "not installed",
}
SETTINGS = (
    SettingView(
        "SYNTASK_API_URL",
        "https://api.syntask.cloud/api/accounts/0f3c1a2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b/"
        "workspaces/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "profile 'default'",
    ),
    SettingView("SYNTASK_API_KEY", "pnu_****Q7r8", "env"),
    SettingView("SYNTASK_CLOUD_API_URL", "https://api.syntask.cloud/api", "defaults"),
    SettingView("SYNTASK_API_SSL_CERT_FILE", None, "defaults"),
)


def _result(check_id: str, outcome: Outcome, seconds: float = 0.01) -> Result:
    return Result(
        check_id,
        check_id.split(".", 1)[1].replace("_", " "),
        check_id.split(".", maxsplit=1)[0],
        outcome,
        seconds,
    )


CLEAN = Report(
    "0.1.0",
    "2026-12-03T12:00:00+00:00",
    ENVIRONMENT,
    "default",
    SETTINGS,
    (
        _result("settings.api_url", passed("Syntask Cloud workspace URL", "account 0f3c...")),
        _result("proxy.env", passed("No proxy: every host is reached directly")),
        _result(
            "host.api.syntask.cloud",
            passed("api.syntask.cloud reachable direct: HTTP 404 in 0.21 s", "dns ok 3.0 ms"),
            0.21,
        ),
        _result("api.auth", passed("Key pnu_****Q7r8 (from env) accepted; it sees 1 workspace(s)")),
    ),
)

TROUBLED = Report(
    "0.1.0",
    "2026-12-03T12:00:00+00:00",
    ENVIRONMENT,
    "default",
    SETTINGS,
    (
        _result(
            "settings.api_key",
            warned(
                "The key pcu_****abcd is from the previous product generation",
                "Syntask Cloud keys start with pnu_ or pnb_",
                remedy="Create a new key in the web UI, then `syntask cloud login --key <KEY>`",
            ),
        ),
        _result(
            "proxy.env",
            failed(
                "HTTPS_PROXY uses the scheme socks://, which httpx does not accept",
                "HTTPS_PROXY='socks://proxy.corp.example:1080': used",
                remedy="export HTTPS_PROXY='socks5://proxy.corp.example:1080'",
            ),
        ),
        _result("host.github.com", skipped("Skipped: it depends on proxy.env, which failed")),
        _result(
            "api.reach",
            Outcome(
                Status.ERROR,
                "Internal error: KeyError: 'status'",
                (
                    "syntask-doctor 0.1.0, check api.reach",
                    "Traceback (most recent call last):",
                    "KeyError: 'status'",
                ),
                "This is a bug in syntask-doctor, not in your setup: please report it",
                {"traceback": "Traceback (most recent call last):\nKeyError: 'status'"},
            ),
        ),
        _result("api.workspace", passed("Workspace acme/prod | visible to the key", "URL: <...>")),
    ),
    support=SupportAnswers(email="ada@example.com", account="acme", login_method="sso"),
)

SAMPLES = {"clean": CLEAN, "troubled": TROUBLED}
