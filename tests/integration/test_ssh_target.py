"""A runbook step with an SSH target runs on that host through the whole engine."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from support.harness import make_settings, running_product
from support.sshd import Sshd


async def test_a_step_targeted_at_an_ssh_host_runs_there_and_reports_output_and_exit_code(
        temporal: WorkflowEnvironment, temporal_address: str, sshd: Sshd, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address, ssh_known_hosts=sshd.known_hosts,
                             ssh_key_file=sshd.key_file, ssh_user=sshd.user)
    marker = tmp_path / "touched-over-ssh"
    async with running_product(temporal.client, settings, tmp_path) as h:
        resp = await h.http.post("/api/v1/runbooks/ssh-demo/executions", json={
            "mode": "autopilot", "params": {"port": str(sshd.port), "marker": str(marker)}})
        assert resp.status_code == 202, resp.text
        body = await h.wait_for(resp.json()["id"], "succeeded", "failed", "rolled_back")
    assert body["status"] == "succeeded", body
    first, second = body["steps"]
    assert first["target"] == f"ssh://127.0.0.1:{sshd.port}"
    assert "hello from ssh" in first["output"] and first["exit_code"] == 0
    assert marker.exists(), "the yellow step ran on the (loopback) SSH host"


async def test_an_ssh_host_with_an_unknown_host_key_is_refused_and_rolled_back(
        temporal: WorkflowEnvironment, temporal_address: str, sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    settings = make_settings(tmp_path, temporal_address, ssh_known_hosts=str(empty),
                             ssh_key_file=sshd.key_file, ssh_user=sshd.user)
    marker = tmp_path / "never"
    async with running_product(temporal.client, settings, tmp_path) as h:
        resp = await h.http.post("/api/v1/runbooks/ssh-demo/executions", json={
            "mode": "autopilot", "params": {"port": str(sshd.port), "marker": str(marker)}})
        body = await h.wait_for(resp.json()["id"], "failed", "rolled_back", "succeeded")
    assert body["status"] == "failed"
    assert body["steps"][0]["status"] == "failed"
    assert "not in known_hosts" in body["steps"][0]["output"] and "not in known_hosts" in body["reason"]
    assert not marker.exists()
