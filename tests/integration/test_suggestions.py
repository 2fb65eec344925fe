"""Runbooks that learn from their runs: a step people reject every time, and a value they keep
typing by hand that always equals an alert label, become proposed versions with their evidence;
accepting one makes that version, dismissing one keeps the reason. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbooks.settings import LlmSettings
from support.alerts import alert_payload
from support.fake_anthropic import FakeAnthropic
from support.harness import make_settings, running_product
from support.web import sign_in

@pytest.fixture
def anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


RUNBOOK = """---
id: learns
title: A runbook people keep correcting
match:
  alertname: LearnsFromPeople{tag}
---
# A runbook people keep correcting

## Steps

1. **Note the pod**
   Risk: green
   ```sh
   echo pod {{{{ labels.pod }}}} >> {{{{ labels.log }}}}
   ```
2. **Restart everything**
   Risk: yellow
   ```sh
   echo restart-all >> {{{{ labels.log }}}}
   ```
   Rollback:
   ```sh
   echo undo-restart >> {{{{ labels.log }}}}
   ```
"""


async def test_rejected_steps_and_values_typed_by_hand_become_proposed_versions(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        tag = uuid.uuid4().hex[:6]
        made = await h.http.post("/api/v1/runbooks", json={"text": RUNBOOK.format(tag=tag)}, headers=h.auth("al", "author"))
        assert made.status_code == 201 and made.json()["state"] == "pending_review"
        assert (await h.http.post("/api/v1/runbooks/learns/versions/1/review", json={"approve": True, "comment": "ok"},
                                  headers=h.auth("bo", "author"))).status_code == 200

        for n in range(3):  # each time: type the pod by hand (it is the alert's instance), refuse the restart
            log = tmp_path / f"run{n}.log"
            fired = await h.http.post("/api/v1/alerts/alertmanager", json=alert_payload(f"LearnsFromPeople{tag}", log))
            execution_id = fired.json()["executions"][0]["id"]
            await h.wait_for(execution_id, "waiting_approval", step="note-the-pod")
            ok = await h.http.post(f"/api/v1/executions/{execution_id}/steps/note-the-pod/approve",
                                   json={"values": {"labels.pod": "web-1"}}, headers=h.auth("cy", "responder"))
            assert ok.status_code == 202, ok.text
            await h.wait_for(execution_id, "waiting_approval", step="restart-everything")
            no = await h.http.post(f"/api/v1/executions/{execution_id}/steps/restart-everything/reject",
                                   json={"comment": "we never restart everything"}, headers=h.auth("cy", "responder"))
            assert no.status_code == 202
            await h.wait_for(execution_id, "failed", "rolled_back")  # nothing done had a rollback

        found = {s["kind"]: s for s in (await h.http.get("/api/v1/runbooks/learns/suggestions")).json()}
        assert set(found) == {"remove_dead_step", "bind_value"}
        dead, bind = found["remove_dead_step"], found["bind_value"]
        assert dead["step_id"] == "restart-everything" and "rejected or skipped in all 3 runs" in dead["evidence"][0]
        assert "-2. **Restart everything**" in dead["diff"]
        assert bind["step_id"] == "note-the-pod" and "equalled the alert's `instance` label" in bind["evidence"][0]
        assert "+   echo pod {{ labels.instance }}" in bind["diff"]

        refused = await h.http.post(f"/api/v1/runbooks/learns/suggestions/{bind['id']}/accept",
                                    headers=h.auth("vi", "viewer"))
        assert refused.status_code == 403
        accepted = await h.http.post(f"/api/v1/runbooks/learns/suggestions/{bind['id']}/accept",
                                     headers=h.auth("al"))
        assert accepted.status_code == 201 and accepted.json()["version"] == 2
        # through the review rule, like any edit: this "green" step appends to a file, which classifies yellow
        assert accepted.json()["state"] == "pending_review"
        assert "declared green but its command classifies yellow" in accepted.json()["review_reasons"][0]
        assert (await h.http.post("/api/v1/runbooks/learns/versions/2/review", json={"approve": True, "comment": "ok"},
                                  headers=h.auth("bo"))).status_code == 200
        live = (await h.http.get("/api/v1/runbooks/learns")).json()
        assert live["version"] == 2 and live["steps"][0]["command"] == "echo pod {{ labels.instance }} >> {{ labels.log }}"

        again = (await h.http.get("/api/v1/runbooks/learns/suggestions")).json()
        assert [s["kind"] for s in again] == ["remove_dead_step"], "the value is bound now; the dead step remains"
        assert again[0]["version"] == 2 and again[0]["id"] != dead["id"]
        assert (await h.http.post(f"/api/v1/runbooks/learns/suggestions/{again[0]['id']}/dismiss", json={"reason": " "},
                                  headers=h.auth("al"))).status_code == 422
        browser = await sign_in(h, "al")
        page = (await h.http.get("/runbooks/learns", headers=browser.headers)).text
        assert "Suggested changes" in page and "Remove the step &#39;Restart everything&#39;" in page
        dismissed = await h.http.post(f"/runbooks/learns/suggestions/{again[0]['id']}/dismiss", headers=browser.headers,
                                      data={"csrf": browser.csrf,
                                            "reason": "the restart stays for the rare night it is needed"})
        assert dismissed.status_code == 303
        assert (await h.http.get("/api/v1/runbooks/learns/suggestions")).json() == []
        assert h.services is not None
        acts = [e.action for e in h.services.audit_log.query(target="runbook:learns")]
        assert "suggestion.accept" in acts and "suggestion.dismiss" in acts
        gone = await h.http.post(f"/api/v1/runbooks/learns/suggestions/{dead['id']}/accept", headers=h.auth("al"))
        assert gone.status_code == 404, "a proposal for an older version is not applied to the new one"


async def test_a_step_that_keeps_failing_is_fixed_with_the_command_people_ran_instead(
        temporal, temporal_address: str, tmp_path: Path, database_url: str, anthropic: FakeAnthropic) -> None:
    llm = LlmSettings(api_key=anthropic.api_key, model="claude-test", base_url=anthropic.base_url, timeout=5)
    settings = make_settings(tmp_path, temporal_address, database_url, llm=llm)
    async with running_product(temporal.client, settings, tmp_path) as h:
        for n in range(2):  # the step fails the same way; each time someone runs the working command by hand
            fired = await h.http.post("/api/v1/alerts/alertmanager", json=alert_payload(
                "E2EFailing", tmp_path / f"fail{n}.log", fingerprint=f"fp-{uuid.uuid4().hex[:8]}"))
            execution_id = fired.json()["executions"][0]["id"]
            await h.wait_for(execution_id, "rolled_back", "failed")
            note = await h.http.post(f"/api/v1/executions/{execution_id}/notes", headers=h.auth("cy", "responder"),
                                     json={"text": "the step broke again, I ran `printf breaking >> /tmp/fixed.log`"})
            assert note.status_code == 201, note.text

        found = {s["kind"]: s for s in (await h.http.get("/api/v1/runbooks/e2e-failing/suggestions")).json()}
        assert set(found) == {"fix_broken_step"}, "the command is the fix, not one more step"
        fix = found["fix_broken_step"]
        assert fix["step_id"] == "break" and "failed 2 times the same way (exit 3" in fix["evidence"][0]
        assert "in 2 of the runs where it failed, people ran `printf breaking >> /tmp/fixed.log`" in fix["evidence"][1]
        assert "-   echo breaking >> {{ labels.log }}; exit 3" in fix["diff"]
        assert "+   printf breaking >> /tmp/fixed.log" in fix["diff"] and fix["explanation"] is None
        assert anthropic.requests == [], "phrasing is asked for, not made on every read"

        anthropic.reply_tool_use({"sentences": [
            {"text": "The step 'Break' failed 2 times the same way, so it would run `printf breaking >> /tmp/fixed.log` "
                     "instead, which people ran by hand.", "cites": [2, 3]},
            {"text": "It has failed since the disk filled up on db-7.", "cites": [2]}]}, name="record_sentences")
        [phrased] = (await h.http.get("/api/v1/runbooks/e2e-failing/suggestions", params={"explain": "true"})).json()
        explanation = phrased["explanation"]
        assert [s["cites"] for s in explanation["sentences"]] == [[2, 3]] and explanation["dropped"] == 1
        assert explanation["facts"][1].startswith("step 'Break' failed 2 times the same way")
        again = (await h.http.get("/api/v1/runbooks/e2e-failing/suggestions", params={"explain": "true"})).json()
        assert again[0]["explanation"] == explanation and len(anthropic.requests) == 1, "kept per suggestion"
        accepted = await h.http.post(f"/api/v1/runbooks/e2e-failing/suggestions/{fix['id']}/accept", headers=h.auth("al", "author"))
        assert accepted.status_code == 201, accepted.text
        version = accepted.json()["version"]
        if accepted.json()["state"] == "pending_review":
            assert (await h.http.post(f"/api/v1/runbooks/e2e-failing/versions/{version}/review",
                                      json={"approve": True, "comment": "ok"}, headers=h.auth("bo", "author"))).status_code == 200
        live = (await h.http.get("/api/v1/runbooks/e2e-failing")).json()
        assert live["version"] == version
        assert [s["command"] for s in live["steps"] if s["id"] == "break"] == ["printf breaking >> /tmp/fixed.log"]
