"""Insights from real executions, on SQLite and PostgreSQL: a step people reject every time is
dead, a step that fails the same way is broken, dry runs do not count, and the page shows it."""

from __future__ import annotations

import uuid
from pathlib import Path

from support.alerts import alert_payload, decide, fire
from support.harness import make_settings, running_product
from support.web import sign_in


async def test_a_rejected_step_is_dead_a_failing_one_broken_and_dry_runs_do_not_count(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        run = uuid.uuid4().hex[:8]  # the session's Temporal server keeps the other database's workflows
        for n in range(3):  # people approve the changes and reject the risky step, every time
            log = tmp_path / f"run{n}.log"
            execution_id = await fire(h, "E2EChange", log, fingerprint=f"fp-{run}-{n}")
            await decide(h, execution_id, "change-a", "approve")
            await decide(h, execution_id, "change-b", "approve")
            if n == 0:  # the alert resolved while the runbook ran
                resolved = await h.http.post("/api/v1/alerts/alertmanager", json=alert_payload(
                    "E2EChange", log, status="resolved", fingerprint=f"fp-{run}-0"))
                assert resolved.status_code == 202 and resolved.json()["resolved"] == [execution_id]
            await decide(h, execution_id, "risky-change", "reject")
            await h.wait_for(execution_id, "rolled_back")
        dry = await h.http.post("/api/v1/runbooks/e2e-change/executions",
                                json={"mode": "dry_run", "params": {"log": str(tmp_path / "dry.log")}})
        assert dry.status_code == 202, dry.text
        await h.wait_for(dry.json()["id"], "succeeded")

        for n in range(2):
            await h.wait_for(await fire(h, "E2EFailing", tmp_path / f"fail{n}.log"), "rolled_back", "failed")

        body = (await h.http.get("/api/v1/runbooks/e2e-change/insights")).json()
        assert body["executions"] == 3, "the dry run is not a run"
        assert body["by_status"] == {"rolled_back": 3} and body["success_rate"] == 0.0
        steps = {s["step_id"]: s for s in body["steps"]}
        assert steps["risky-change"] | {"flags": None} == {
            "step_id": "risky-change", "title": "Risky change", "position": 4, "runs": 3, "ran": 0, "succeeded": 0,
            "failed": 0, "rejected": 3, "skipped": 0, "flags": None}
        assert steps["risky-change"]["flags"] == ["dead"] and steps["change-a"]["ran"] == 3
        assert [(f["kind"], f["step_id"]) for f in body["flags"]] == [("dead_step", "risky-change")]
        assert body["median_time_to_first_approval_seconds"] is not None
        assert body["median_time_to_resolve_seconds"] is not None

        failing = (await h.http.get("/api/v1/runbooks/e2e-failing/insights")).json()
        assert [(f["kind"], f["step_id"]) for f in failing["flags"]] == [("broken_step", "break")]
        assert "failed 2 times the same way (exit 3" in failing["flags"][0]["message"]

        browser = await sign_in(h, "ivy", "viewer")
        page = (await h.http.get("/runbooks/e2e-change", headers=browser.headers)).text
        assert "3 runs, 0% succeeded" in page and "dead step" in page
        missing = await h.http.get("/api/v1/runbooks/no-such-runbook/insights")
        assert missing.status_code == 404
