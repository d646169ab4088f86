"""The whole path against the local fake Cloud: the "done when" of the end-to-end doctor."""

from __future__ import annotations

from conftest import KEY, LOCAL_ONLY, FakeCloud, doctor, workspace_item


def test_fake_cloud_passes_settings_ca_host_and_api_checks(fake_cloud: FakeCloud) -> None:
    fake_cloud.workspaces(workspace_item())
    fake_cloud.health()
    run = doctor("--format", "json", *LOCAL_ONLY)
    document = run.json()
    statuses = {r["id"]: r["status"] for r in document["results"]}
    assert statuses["host.127.0.0.1"] == "pass"
    for check_id in (
        "settings.profile",
        "settings.api_url",
        "settings.api_key",
        "proxy.env",
        "tls.ca_bundle",
        "api.reach",
        "api.auth",
        "api.workspace",
    ):
        assert statuses[check_id] == "pass", (check_id, document["results"])
    assert run.exit_code == 0
    assert KEY not in run.stdout + run.stderr
