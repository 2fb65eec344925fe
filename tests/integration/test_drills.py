"""Fire drills, on SQLite and PostgreSQL: a synthetic alert goes through matching, approval
requests and escalations for real, nothing executes (or it runs on the sandbox target), it is
marked as a drill, it is scored, and it leaves the runbook's insights and the metrics unchanged."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from support.alerts import decide, fire, lines
from support.harness import Harness, make_settings, running_product
from support.paths import REPO as ROOT
from support.processes import Fleet, product_env
from support.web import sign_in


async def _figures(h: Harness, runbook_id: str) -> dict[tuple, float]:
    """The metric samples about executions and approvals, as a drill must leave them."""
    text = (await h.http.get("/metrics")).text
    wanted = {"runbooks_executions", "runbooks_runbook_executions", "runbooks_executions_started_total",
              "runbooks_approval_wait_seconds_count", "runbooks_matches_total", "runbooks_match_seconds_count",
              "runbooks_step_duration_seconds_count"}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples if s.name in wanted
            and s.labels.get("runbook_id", runbook_id) == runbook_id}


async def _drill(h: Harness, **body) -> dict:
    resp = await h.http.post("/api/v1/drills", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_a_drill_asks_for_approvals_runs_nothing_is_scored_and_leaves_insights_unchanged(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        run = uuid.uuid4().hex[:8]  # the session's Temporal server keeps the other database's workflows
        real = await fire(h, "E2EChange", tmp_path / "real.log", fingerprint=f"fp-{run}")
        await decide(h, real, "change-a", "approve")
        await decide(h, real, "change-b", "reject")
        await h.wait_for(real, "rolled_back")
        insights = (await h.http.get("/api/v1/runbooks/e2e-change/insights")).json()
        figures = await _figures(h, "e2e-change")
        alerts = (await h.http.get("/api/v1/alerts")).json()["alerts"]
        incidents = (await h.http.get("/api/v1/incidents")).json()

        log = tmp_path / "drill.log"
        drill = await _drill(h, runbook_id="e2e-change", labels={"log": str(log), "instance": f"drill-{run}"})
        assert drill["matched_runbook_id"] == "e2e-change" and "selector alertname=E2EChange" in drill["match_reason"]
        assert drill["labels"]["alertname"] == "E2EChange" and drill["started_by"] == "admin"
        execution_id = drill["execution_id"]
        for step in ("change-a", "change-b", "risky-change"):  # the approval requests happen for real
            await decide(h, execution_id, step, "approve")
        done = await h.wait_for(execution_id, "succeeded")
        assert lines(log) == [], "a drill without a sandbox executes nothing"
        assert done["drill"] is True and done["reason"] == "drill: every step was rehearsed, nothing was executed"
        assert [s["status"] for s in done["steps"]] == ["dry_run"] * 4

        scored = (await h.http.get(f"/api/v1/drills/{drill['id']}")).json()
        assert scored["status"] == "succeeded"
        result = scored["result"]
        assert (result["matched"], result["steps_completed"], result["steps_total"]) == (True, 4, 4)
        assert [(a["step_id"], a["approved"], a["by"]) for a in result["approvals"]] == [
            ("change-a", True, "alice"), ("change-b", True, "alice"), ("risky-change", True, "alice")]
        assert all(a["seconds"] is not None and a["seconds"] >= 0 for a in result["approvals"])
        assert result["score"] == 100 and result["escalations"] == 0

        assert (await h.http.get("/api/v1/runbooks/e2e-change/insights")).json() == insights
        assert await _figures(h, "e2e-change") == figures, "a drill counts in no metric"
        assert (await h.http.get("/api/v1/alerts")).json()["alerts"] == alerts, "a drill's alert is no alert"
        assert (await h.http.get("/api/v1/incidents")).json() == incidents
        listed = (await h.http.get("/api/v1/drills", params={"runbook_id": "e2e-change"})).json()
        assert [d["id"] for d in listed] == [drill["id"]]
        entries = (await h.http.get("/api/v1/audit", params={"action": "drill.start"})).json()
        assert any(e["target"] == f"execution:{execution_id}" for e in entries)


async def test_a_drill_on_a_sandbox_runs_there_and_an_escalation_costs_points(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        log = tmp_path / "sandbox.log"
        drill = await _drill(h, runbook_id="slack-escalation", labels={"log": str(log)}, target="local")
        execution_id = drill["execution_id"]
        for _ in range(100):  # the first escalation level fires after a second of silence
            body = (await h.http.get(f"/api/v1/executions/{execution_id}")).json()
            if any(e["kind"] == "escalation" for e in body["events"]):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no escalation: {body}")
        await decide(h, execution_id, "wait-for-someone", "approve")
        done = await h.wait_for(execution_id, "succeeded")
        assert lines(log) == ["waited"], "on a sandbox target the step runs"
        assert done["steps"][0]["target"] == "local"
        result = (await h.http.get(f"/api/v1/drills/{drill['id']}")).json()["result"]
        assert result["escalations"] == 1 and result["approvals"][0]["escalations"] == 1
        assert result["score"] == 70, result["explanation"]  # matched 20, steps 50, no prompt approval


async def test_a_drill_refuses_a_bad_target_and_an_unknown_runbook(harness: Harness) -> None:
    bad = await harness.http.post("/api/v1/drills", json={"runbook_id": "e2e-change", "target": "ftp://nope"})
    assert bad.status_code == 422 and "target" in bad.json()["detail"]
    manual = await harness.http.post("/api/v1/drills", json={"runbook_id": "e2e-change", "target": "manual"})
    assert manual.status_code == 422
    missing = await harness.http.post("/api/v1/drills", json={"runbook_id": "no-such-runbook"})
    assert missing.status_code == 404
    viewer = harness.auth("vic", "viewer")
    refused = await harness.http.post("/api/v1/drills", json={"runbook_id": "e2e-change"}, headers=viewer)
    assert refused.status_code == 403


def test_runbooks_drill_follows_the_drill_and_prints_its_score(temporal, temporal_address: str, tmp_path: Path) -> None:
    """The CLI against the product running as processes: three green steps rehearse by themselves;
    the runbook has no selector, so the drill's alert is matched by text, and the score says so."""
    settings = make_settings(tmp_path, temporal_address)
    with Fleet(settings, tmp_path) as fleet:
        fleet.worker()
        api = fleet.api()
        token = (tmp_path / "api-0" / "admin-token").read_text().strip()
        log = tmp_path / "cli-drill.log"
        cli = [sys.executable, "-m", "cli.main", "drill", "scale-who-runs", f"log={log}", "--api", str(api.url),
               "--token", token, "--timeout", "60"]
        done = subprocess.run(cli, cwd=ROOT, env=product_env(settings), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "succeeded: score" in done.stdout and "3 of 3 steps completed (50/50)" in done.stdout
        assert "no step asked for approval (30/30)" in done.stdout
        assert lines(log) == [], "rehearsed: nothing ran"
        refused = subprocess.run([*cli[:4], "no-such-runbook", "--api", str(api.url), "--token", token],
                                 cwd=ROOT, env=product_env(settings), capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and "drill refused (404)" in refused.stdout + refused.stderr
        bad_label = subprocess.run([*cli[:4], "scale-who-runs", "oops", "--api", str(api.url), "--token", token],
                                   cwd=ROOT, env=product_env(settings), capture_output=True, text=True, timeout=60)
        assert bad_label.returncode == 1 and "label=value" in bad_label.stdout + bad_label.stderr


async def test_the_cockpit_runs_a_drill_marks_it_and_shows_its_score(harness: Harness, tmp_path: Path) -> None:
    browser = await sign_in(harness, "rita", "responder")
    page = (await harness.http.get("/runbooks/e2e-change", headers=browser.headers)).text
    assert "Fire drill" in page
    bad = await harness.http.post("/runbooks/e2e-change/drill", headers=browser.headers,
                                  data={"csrf": browser.csrf, "labels": "no equals sign here"})
    assert bad.status_code == 422 and "label=value" in bad.text and "no equals sign here" in bad.text
    started = await harness.http.post("/runbooks/e2e-change/drill", headers=browser.headers, follow_redirects=False,
                                      data={"csrf": browser.csrf, "labels": f"log={tmp_path / 'web.log'}\ninstance=w-9"})
    assert started.status_code == 303, started.text
    execution_id = started.headers["location"].rsplit("/", 1)[1]
    shown = (await harness.http.get(f"/executions/{execution_id}", headers=browser.headers)).text
    assert ">DRILL</span>" in shown and "the drill's score" in shown
    drill_id = (await harness.http.get("/api/v1/drills")).json()[0]["id"]
    score = (await harness.http.get(f"/drills/{drill_id}", headers=browser.headers)).text
    assert re.search(r"score \d+/100", score) and "matching chose this runbook for the drill&#39;s alert" in score
    assert "matching chose e2e-change" in score and "steps rehearsed, nothing ran" in score
    listed = (await harness.http.get("/runbooks/e2e-change", headers=browser.headers)).text
    assert f"/drills/{drill_id}" in listed
