"""Replay of a past execution for training, on SQLite and PostgreSQL: its steps one at a time, each
with the question the on-call person faced, the decision and its reason, what ran and printed,
what was undone, and how it ended; in the cockpit, one step per page."""

from __future__ import annotations

import uuid
from pathlib import Path

from support.alerts import alert_payload, decide, fire
from support.harness import make_settings, running_product
from support.web import sign_in


async def test_a_rolled_back_execution_replays_step_by_step(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        fingerprint = f"fp-{uuid.uuid4().hex[:8]}"
        log = tmp_path / "run.log"
        ex = await fire(h, "E2EChange", log, fingerprint=fingerprint)
        await decide(h, ex, "change-a", "approve", actor="alice")
        await h.wait_for(ex, "waiting_approval", step="change-b")
        note = await h.http.post(f"/api/v1/executions/{ex}/notes", json={"text": "checked the dashboard first"},
                                 headers=h.auth("alice"))
        assert note.status_code == 201, note.text
        await decide(h, ex, "change-b", "approve", actor="bob")
        await h.wait_for(ex, "waiting_approval", step="risky-change")  # change B has run
        resolved = alert_payload("E2EChange", log, status="resolved", fingerprint=fingerprint)
        assert (await h.http.post("/api/v1/alerts/alertmanager", json=resolved)).status_code == 202
        await decide(h, ex, "risky-change", "reject", actor="carol")
        await h.wait_for(ex, "rolled_back")

        replay = (await h.http.get(f"/api/v1/executions/{ex}/replay")).json()
        assert replay["title"] == "End-to-end change with approvals" and replay["labels"]["instance"] == "web-1"
        frames = replay["frames"]
        assert [f["step_id"] for f in frames] == ["look-before-touching", "change-a", "change-b", "risky-change"]
        look, change_a, change_b, risky = frames
        assert look["decision"] is None and "runs by itself" in look["question"]
        assert look["output"] == "" and look["exit_code"] == 0 and look["what_happened"] == "it ran and succeeded"
        assert "Would you approve it?" in change_a["question"]
        assert change_a["decision"]["by"] == "alice" and change_a["decision"]["after_seconds"] >= 0
        assert change_a["what_happened"] == "approved by alice (approve in test); it ran and succeeded; undone by its rollback"
        assert change_a["rollback_command"].startswith("echo undo-a") and change_a["rollback_status"] == "succeeded"
        assert change_b["decision"]["by"] == "bob" and "checked the dashboard first" in " ".join(change_b["notes"])
        assert risky["what_happened"] == "rejected by carol (reject in test); it did not run"
        assert risky["command"].startswith("echo risky") and risky["output"] == ""
        assert replay["outcome"].startswith("rolled back: step 'Risky change' rejected by carol")
        assert "the alert resolved after step 3 ('Change B')" in replay["outcome"]
        assert [f["number"] for f in frames] == [1, 2, 3, 4]
        assert all(f["at_seconds"] is not None and f["at_seconds"] >= 0 for f in frames)

        browser = await sign_in(h, "tess", "viewer")
        page = (await h.http.get(f"/executions/{ex}/replay?step=2", headers=browser.headers)).text
        assert "Step 2 of 4: Change A" in page and "Would you approve it?" in page and "approved by alice" in page
        assert 'href="?step=1"' in page and 'href="?step=3"' in page
        end = (await h.http.get(f"/executions/{ex}/replay?step=99", headers=browser.headers)).text
        assert "How it ended" in end and "rolled back" in end
        assert "Replay it step by step" in (await h.http.get(f"/executions/{ex}", headers=browser.headers)).text
        assert (await h.http.get("/api/v1/executions/no-such/replay")).status_code == 404
