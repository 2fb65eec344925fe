"""End to end through the API on a real Temporal dev server with a real worker.

The test runbooks append one line per command to a log file named by the alert, so each test can
read exactly what ran, in which order, and how many times.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from support.alerts import alert_payload, decide, fire, lines
from support.harness import Harness


async def test_green_runs_yellow_waits_and_approvals_finish_the_runbook(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(harness, "E2EChange", log)

    await harness.wait_for(ex, "waiting_approval", step="change-a")
    assert lines(log) == ["check"], "the green step ran by itself, the yellow one waits"
    # the execution's status is its own write, just after the step's: CI once read it in between
    body = await harness.wait_for(ex, "waiting_approval")
    assert body["status"] == "waiting_approval"
    live = (await harness.http.get(f"/api/v1/executions/{ex}/live")).json()
    assert [s["status"] for s in live["steps"]] == ["succeeded", "waiting_approval", "pending", "pending"]

    await decide(harness, ex, "change-a", "approve", actor="alice")
    await decide(harness, ex, "change-b", "approve", actor="bob")
    await decide(harness, ex, "risky-change", "approve", actor="carol")
    body = await harness.wait_for(ex, "succeeded")

    assert lines(log) == ["check", "change-a", "change-b", "risky"]
    steps = {s["id"]: s for s in body["steps"]}
    assert steps["look-before-touching"]["approval"] is None
    assert steps["change-a"]["approval"]["actor"] == "alice"
    assert steps["risky-change"]["approval"]["actor"] == "carol"
    assert steps["risky-change"]["approval"]["decided_at"]
    assert steps["change-b"]["exit_code"] == 0
    assert steps["risky-change"]["risk"] == "red"
    assert "echo risky >> " in steps["risky-change"]["command"]
    assert body["runbook_version"] == 1


async def test_rejecting_a_step_rolls_back_what_was_done_newest_first(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(harness, "E2EChange", log)
    await decide(harness, ex, "change-a", "approve")
    await decide(harness, ex, "change-b", "approve")
    await decide(harness, ex, "risky-change", "reject", actor="dave")
    body = await harness.wait_for(ex, "rolled_back")

    assert lines(log) == ["check", "change-a", "change-b", "undo-b", "undo-a"]
    steps = {s["id"]: s for s in body["steps"]}
    assert steps["risky-change"]["status"] == "rejected"
    assert steps["risky-change"]["approval"] == {
        "approved": False, "actor": "dave", "comment": "reject in test", "values": {}, "approvers": [],
        "decided_at": steps["risky-change"]["approval"]["decided_at"]}
    assert steps["change-a"]["rollback"]["status"] == "succeeded"
    assert "rejected by dave" in body["reason"]


async def test_a_failing_step_rolls_back(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(harness, "E2EFailing", log)
    body = await harness.wait_for(ex, "rolled_back", "failed")

    assert body["status"] == "rolled_back"
    assert lines(log) == ["prepare", "breaking", "undo-prepare"]
    steps = {s["id"]: s for s in body["steps"]}
    assert steps["break"]["status"] == "failed"
    assert steps["break"]["exit_code"] == 3
    assert steps["never-reached"]["status"] == "skipped"
    assert "step 'Break' failed: exit code 3" in body["reason"]


async def test_cancelling_rolls_back(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(harness, "E2EChange", log)
    await decide(harness, ex, "change-a", "approve")
    await harness.wait_for(ex, "waiting_approval", step="change-b")

    resp = await harness.http.post(f"/api/v1/executions/{ex}/cancel")
    assert resp.status_code == 202, resp.text
    body = await harness.wait_for(ex, "cancelled")
    assert lines(log) == ["check", "change-a", "undo-a"]
    assert {s["id"]: s["status"] for s in body["steps"]}["change-b"] == "skipped"


async def test_a_redelivered_alert_never_starts_a_second_execution(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    payload = alert_payload("E2EChange", log, fingerprint=f"dup-{uuid.uuid4().hex[:6]}")
    responses = await asyncio.gather(*[harness.http.post("/api/v1/alerts/alertmanager", json=payload)
                                       for _ in range(5)])
    ids = {r.json()["executions"][0]["id"] for r in responses}
    assert len(ids) == 1
    ex = ids.pop()
    await harness.wait_for(ex, "waiting_approval", step="change-a")
    again = await harness.http.post("/api/v1/alerts/alertmanager", json=payload)
    assert again.json()["executions"] == [{"id": ex, "runbook_id": "e2e-change", "status": "waiting_approval"}]

    executions = (await harness.http.get("/api/v1/executions", params={"runbook_id": "e2e-change"})).json()
    assert [e["id"] for e in executions] == [ex]
    runs = [w async for w in harness.client.list_workflows(f'WorkflowId = "{ex}"')]
    assert len(runs) == 1
    assert lines(log) == ["check"], "the green step ran once"


async def test_dry_run_renders_and_executes_nothing(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "dry.log"
    resp = await harness.http.post("/api/v1/runbooks/params-demo/executions",
                                   json={"params": {"word": "hello", "log": str(log)}, "mode": "dry_run"})
    assert resp.status_code == 202, resp.text
    body = await harness.wait_for(resp.json()["id"], "succeeded")
    assert not log.exists()
    assert [s["status"] for s in body["steps"]] == ["dry_run", "dry_run"]
    assert body["steps"][1]["command"] == f"echo hello >> {log}"


async def test_unmatched_and_resolved_alerts_are_recorded(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    resp = await harness.http.post("/api/v1/alerts/alertmanager",
                                   json=alert_payload("NobodyWroteThis", log, fingerprint="nobody-1"))
    assert resp.status_code == 202
    body = resp.json()
    assert (body["executions"], body["unmatched"], body["resolved"], body["held"]) == ([], ["nobody-1"], [], [])

    fingerprint = f"res-{uuid.uuid4().hex[:6]}"
    ex = await fire(harness, "E2EChange", log, fingerprint=fingerprint)
    await harness.wait_for(ex, "waiting_approval", step="change-a")
    resolved = await harness.http.post("/api/v1/alerts/alertmanager",
                                       json=alert_payload("E2EChange", log, status="resolved", fingerprint=fingerprint))
    assert resolved.json()["resolved"] == [ex]
    for _ in range(100):
        body = (await harness.http.get(f"/api/v1/executions/{ex}")).json()
        if body["resolved_at"]:
            break
        await asyncio.sleep(0.05)
    assert body["resolved_at"] and any(e["kind"] == "resolved" for e in body["events"])


async def test_bad_requests_get_a_reason_not_a_500(harness: Harness, tmp_path: Path) -> None:
    http = harness.http
    not_json = await http.post("/api/v1/alerts/alertmanager", content=b"{not json",
                               headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]
    rejected = (await http.get("/api/v1/alerts/rejected")).json()
    assert rejected[0]["body"] == "{not json" and rejected[0]["source"] == "alertmanager", "kept for inspection"
    assert (await http.post("/api/v1/alerts/nagios", json={})).status_code == 404
    assert (await http.post("/api/v1/alerts/alertmanager", json={"alerts": []})).status_code == 422
    assert (await http.post("/api/v1/alerts/alertmanager", json={"alerts": [{"status": "weird", "labels": {}}]})
            ).status_code == 422
    missing = await http.post("/api/v1/runbooks/params-demo/executions", json={"params": {"word": "x"}})
    assert missing.status_code == 422 and "params.log" in missing.text
    hostile = await http.post("/api/v1/runbooks/params-demo/executions",
                              json={"params": {"word": "--all", "log": "/tmp/x"}})
    assert hostile.status_code == 422
    assert (await http.post("/api/v1/runbooks/nope/executions", json={})).status_code == 404
    assert (await http.post("/api/v1/runbooks/params-demo/executions", json={"mode": "yolo"})).status_code == 422
    assert (await http.get("/api/v1/executions/nope")).status_code == 404
    assert (await http.post("/api/v1/executions/nope/steps/x/approve", json={})).status_code == 404

    log = tmp_path / "run.log"
    ex = await fire(harness, "E2EChange", log, fingerprint=f"bad-{uuid.uuid4().hex[:6]}")
    await harness.wait_for(ex, "waiting_approval", step="change-a")
    not_waiting = await http.post(f"/api/v1/executions/{ex}/steps/change-b/approve", json={})
    assert not_waiting.status_code == 409
    claimed = await http.post(f"/api/v1/executions/{ex}/steps/change-a/approve", json={"actor": "someone-else"})
    assert claimed.status_code == 422 and "identity of your token" in claimed.json()["detail"]
    assert (await http.get("/healthz")).json()["status"] == "ok"
    runbooks = (await http.get("/api/v1/runbooks")).json()
    assert {"e2e-change", "e2e-failing", "params-demo"} <= {r["id"] for r in runbooks}
    detail = (await http.get("/api/v1/runbooks/e2e-change")).json()
    assert [s["risk"] for s in detail["steps"]] == ["green", "yellow", "yellow", "red"]


async def test_a_red_step_needs_a_second_person(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    resp = await harness.http.post("/api/v1/runbooks/e2e-change/executions", json={
        "params": {"log": str(log)}, "mode": "autopilot"}, headers=harness.auth("alice"))
    ex = resp.json()["id"]
    await harness.wait_for(ex, "waiting_approval", step="risky-change")
    assert lines(log) == ["check", "change-a", "change-b"], "autopilot ran green and yellow by themselves"
    url = f"/api/v1/executions/{ex}/steps/risky-change/approve"
    own = await harness.http.post(url, json={}, headers=harness.auth("alice"))
    assert own.status_code == 403 and "second person" in own.json()["detail"]
    assert (await harness.http.post(url, json={}, headers=harness.auth("bob"))).status_code == 202
    await harness.wait_for(ex, "succeeded")
    assert lines(log)[-1] == "risky"
