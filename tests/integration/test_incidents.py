"""Incidents: alerts from one instance firing close together are one incident with one timeline;
another instance, a runbook's `group_by`, or a quiet window make another. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from support.alerts import alert_payload
from support.harness import Harness, make_settings, running_product
from support.web import sign_in


def _alert(name: str, log: Path, instance: str, status: str = "firing", fingerprint: str | None = None,
           **labels: str) -> dict:
    body = alert_payload(name, log, status=status, fingerprint=fingerprint)
    body["alerts"][0]["labels"] |= {"instance": instance, **labels}
    return body


async def _send(h: Harness, body: dict) -> dict:
    resp = await h.http.post("/api/v1/alerts/alertmanager", json=body)
    assert resp.status_code == 202, resp.text
    return resp.json()


async def test_alerts_of_one_instance_are_one_incident_until_they_resolve(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url, incident_window_seconds=2)
    async with running_product(temporal.client, settings, tmp_path) as h:
        box, other = f"db-{uuid.uuid4().hex[:6]}", f"web-{uuid.uuid4().hex[:6]}"
        started = await _send(h, _alert("E2EChange", tmp_path / "a.log", box, fingerprint=f"{box}-change"))
        await _send(h, _alert("DiskAlmostFull", tmp_path / "b.log", box, fingerprint=f"{box}-disk"))
        await _send(h, _alert("DiskAlmostFull", tmp_path / "c.log", other, fingerprint=f"{other}-disk"))

        listed = (await h.http.get("/api/v1/incidents")).json()
        mine = next(i for i in listed if i["key"] == f"instance={box}")
        assert mine["alertnames"] == ["DiskAlmostFull", "E2EChange"] and mine["alerts"] == 2
        assert mine["status"] == "firing" and mine["executions"] == [started["executions"][0]["id"]]
        assert any(i["key"] == f"instance={other}" and i["id"] != mine["id"] for i in listed), "another instance"

        await h.wait_for(started["executions"][0]["id"], "waiting_approval", step="change-a")
        detail = (await h.http.get(f"/api/v1/incidents/{mine['id']}")).json()
        assert [a["alertname"] for a in detail["alert_list"]] == ["E2EChange", "DiskAlmostFull"]
        kinds = [m["kind"] for m in detail["timeline"]]
        assert kinds[0] == "alert_firing" and "started" in kinds and "approval_requested" in kinds

        for name, fingerprint in (("E2EChange", f"{box}-change"), ("DiskAlmostFull", f"{box}-disk")):
            await _send(h, _alert(name, tmp_path / "r.log", box, status="resolved", fingerprint=fingerprint))
        resolved = (await h.http.get(f"/api/v1/incidents/{mine['id']}")).json()
        assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
        assert [m["kind"] for m in resolved["timeline"]].count("alert_resolved") == 2

        await asyncio.sleep(2.5)  # quiet for longer than the window: the next alert is a new incident
        await _send(h, _alert("DiskAlmostFull", tmp_path / "d.log", box, fingerprint=f"{box}-disk-again"))
        keyed = [i for i in (await h.http.get("/api/v1/incidents")).json() if i["key"] == f"instance={box}"]
        assert len(keyed) == 2 and keyed[0]["id"] != mine["id"]

        report = await h.http.get(f"/api/v1/incidents/{mine['id']}/report")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/markdown")
        assert report.text.startswith(f"# Incident: E2EChange on instance={box}") and "resolved" in report.text
        assert "## Incident report: End-to-end change with approvals" in report.text, "its execution, one level down"

        browser = await sign_in(h, "iris", "viewer")
        assert (await h.http.get(f"/incidents/{mine['id']}/report", headers=browser.headers)).status_code == 200
        page = (await h.http.get(f"/incidents/{mine['id']}", headers=browser.headers)).text
        assert "E2EChange" in page and "Timeline" in page
        assert (await h.http.get("/incidents", headers=browser.headers)).status_code == 200
        assert (await h.http.get("/api/v1/incidents/no-such-incident")).status_code == 404


async def test_a_runbooks_group_by_decides_what_belongs_together(harness: Harness, tmp_path: Path) -> None:
    node = f"node-{uuid.uuid4().hex[:6]}"
    for n, instance in enumerate(("pod-a", "pod-b")):  # two instances, one node: one incident
        await _send(harness, _alert("PodEvictedOnNode", tmp_path / f"{n}.log", instance, node=node,
                                    fingerprint=f"{node}-{n}"))
    keys = [i["key"] for i in (await harness.http.get("/api/v1/incidents")).json()]
    assert keys.count(f"node={node}") == 1 and not any(k.startswith("instance=pod-") for k in keys)


def _at(body: dict, minute: int, second: int) -> dict:
    body["alerts"][0]["startsAt"] = f"2026-12-06T10:{minute:02d}:{second:02d}+00:00"
    return body


async def test_the_likely_root_cause_runs_first_and_the_symptoms_wait_as_suggestions(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    """One delivery, the symptom listed first: the alert that began firing first is the likely root
    cause; its runbook runs, the other's waits on the incident until a person starts it."""
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        box = f"box-{uuid.uuid4().hex[:6]}"
        symptom = _at(_alert("E2EFailing", tmp_path / "symptom.log", box, fingerprint=f"{box}-symptom"), 0, 40)
        cause = _at(_alert("E2EChange", tmp_path / "cause.log", box, fingerprint=f"{box}-cause"), 0, 0)
        symptom["alerts"] += cause["alerts"]
        accepted = await _send(h, symptom)
        assert [e["runbook_id"] for e in accepted["executions"]] == ["e2e-change"]
        root_execution = accepted["executions"][0]["id"]
        assert [(w["fingerprint"], w["runbook_id"], w["root_cause_execution"]) for w in accepted["held"]] == [
            (f"{box}-symptom", "e2e-failing", root_execution)]
        assert "E2EChange began firing 40 s before E2EFailing" in accepted["held"][0]["reason"]
        assert not (tmp_path / "symptom.log").exists(), "the symptom's runbook did not run"

        incident_id = next(i["id"] for i in (await h.http.get("/api/v1/incidents")).json() if i["key"] == f"instance={box}")
        detail = (await h.http.get(f"/api/v1/incidents/{incident_id}")).json()
        assert detail["root_cause"]["runbook_id"] == "e2e-change" and detail["root_cause"]["execution_id"] == root_execution
        assert "began firing first at 10:00:00 UTC" in detail["root_cause"]["reason"]
        [waiting] = detail["waiting"]
        assert waiting["runbook_id"] == "e2e-failing" and "waits as a suggestion" in waiting["reason"]
        assert any(m["kind"] == "waits" for m in detail["timeline"])

        browser = await sign_in(h, "rhea", "responder")
        page = (await h.http.get(f"/incidents/{incident_id}", headers=browser.headers)).text
        assert "Likely root cause" in page and "Waiting as suggestions" in page and "Start e2e-failing now" in page

        again = await _send(h, symptom)  # Alertmanager repeats the group while the root cause still runs
        assert [w["fingerprint"] for w in again["held"]] == [f"{box}-symptom"] and len(again["executions"]) == 1

        [latest] = (await h.http.get(f"/api/v1/incidents/{incident_id}")).json()["waiting"]
        assert latest["alert_id"] > waiting["alert_id"], "the suggestion follows the latest delivery"
        started = await h.http.post(f"/api/v1/alerts/{latest['alert_id']}/executions", json={"runbook_id": "e2e-failing"})
        assert started.status_code == 202, started.text
        assert started.json()["pairing"] is None, "matching had chosen it: nothing to learn"
        await h.wait_for(started.json()["execution"]["id"], "waiting_approval", step="prepare")
        after = (await h.http.get(f"/api/v1/incidents/{incident_id}")).json()
        assert after["waiting"] == [] and len(after["executions"]) == 2


async def test_an_earlier_alert_that_arrives_later_still_runs_and_equal_starts_order_nothing(
        harness: Harness, tmp_path: Path) -> None:
    box = f"box-{uuid.uuid4().hex[:6]}"
    late = await _send(harness, _at(_alert("E2EChange", tmp_path / "a.log", box, fingerprint=f"{box}-a"), 5, 0))
    earlier = await _send(harness, _at(_alert("E2EFailing", tmp_path / "b.log", box, fingerprint=f"{box}-b"), 1, 0))
    assert late["held"] == [] and earlier["held"] == [] and len(earlier["executions"]) == 1, \
        "the one that began first is the likely root cause: it is never held"
    other = f"box-{uuid.uuid4().hex[:6]}"
    both = _alert("E2EChange", tmp_path / "c.log", other, fingerprint=f"{other}-a")
    both["alerts"] += _alert("E2EFailing", tmp_path / "d.log", other, fingerprint=f"{other}-b")["alerts"]
    accepted = await _send(harness, both)
    assert accepted["held"] == [] and len(accepted["executions"]) == 2, "the same start: no evidence of order"
