"""Learning from people's choices: a runbook started by hand for an alert becomes that alert name's
runbook, with a reason naming who chose it, until someone forgets the pairing. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

from support.alerts import alert_payload, lines
from support.harness import make_settings, running_product
from support.web import sign_in


async def test_a_runbook_started_by_hand_for_an_alert_answers_the_next_one_of_that_name(
        temporal, temporal_address: str, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url)
    async with running_product(temporal.client, settings, tmp_path) as h:
        name, log = f"DiskSlowOnBox{uuid.uuid4().hex[:6]}", tmp_path / "chosen.log"
        first = await h.http.post("/api/v1/alerts/alertmanager", json=alert_payload(name, log))
        assert first.json()["unmatched"], "nothing answers this alert name yet"
        alert_id = (await h.http.get("/api/v1/alerts?limit=1")).json()["alerts"][0]["id"]

        assert (await h.http.post(f"/api/v1/alerts/{alert_id}/executions", json={"runbook_id": "e2e-change"},
                                  headers=h.auth("vic", "viewer"))).status_code == 403
        started = await h.http.post(f"/api/v1/alerts/{alert_id}/executions", json={"runbook_id": "e2e-change"},
                                    headers=h.auth("rosa", "responder"))
        assert started.status_code == 202, started.text
        body = started.json()
        assert body["pairing"] | {"chosen_at": None} == {
            "alertname": name, "runbook_id": "e2e-change", "chosen_by": "rosa", "chosen_at": None,
            "alert_id": alert_id, "replaced": None}
        execution = await h.wait_for(body["execution"]["id"], "waiting_approval", step="change-a")
        assert execution["started_by"] == "rosa" and execution["alertname"] == name
        assert lines(log) == ["check"], "the alert's labels filled the steps (its `log` label)"

        again = await h.http.post("/api/v1/alerts/alertmanager", json=alert_payload(name, tmp_path / "next.log"))
        assert [e["runbook_id"] for e in again.json()["executions"]] == ["e2e-change"]
        why = await h.http.post("/api/v1/match", json=alert_payload(name, log))
        assert why.json()[0]["runbook_id"] == "e2e-change"
        assert why.json()[0]["reason"].startswith(f"rosa chose this runbook for {name}")
        assert [p["alertname"] for p in (await h.http.get("/api/v1/pairings")).json()] == [name]
        assert h.services is not None
        assert h.services.audit_log.query(action="pairing.add")[-1].actor == "rosa"

        browser = await sign_in(h, "ada", "author")
        page = (await h.http.get("/alerts", headers=browser.headers)).text
        assert name in page and "Runbooks people chose" in page
        forgot = await h.http.post("/pairings/remove", data={"csrf": browser.csrf, "alertname": name},
                                   headers=browser.headers)
        assert forgot.status_code == 303
        assert (await h.http.get("/api/v1/pairings")).json() == []
        gone = await h.http.post("/api/v1/match", json=alert_payload(name, log))
        assert gone.json()[0]["runbook_id"] is None, "forgotten: the index answers again"
        assert (await h.http.delete(f"/api/v1/pairings/{name}")).status_code == 404


async def test_the_cockpit_starts_a_chosen_runbook_from_an_alert_page(harness, tmp_path: Path) -> None:
    name = f"CacheColdOn{uuid.uuid4().hex[:6]}"
    await harness.http.post("/api/v1/alerts/alertmanager", json=alert_payload(name, tmp_path / "c.log"))
    alert_id = (await harness.http.get("/api/v1/alerts?limit=1")).json()["alerts"][0]["id"]
    browser = await sign_in(harness, "nils", "responder")
    page = (await harness.http.get(f"/alerts/{alert_id}", headers=browser.headers)).text
    assert "Run a runbook for this alert" in page and '<option>e2e-change</option>' in page
    wrong = await harness.http.post(f"/alerts/{alert_id}/start", data={"csrf": browser.csrf, "runbook_id": "nope"},
                                    headers=browser.headers)
    assert wrong.status_code == 404 and "no runbook &#39;nope&#39;" in wrong.text, "said beside the form"
    done = await harness.http.post(f"/alerts/{alert_id}/start", data={"csrf": browser.csrf, "runbook_id": "e2e-change",
                                                                       "mode": "copilot"}, headers=browser.headers)
    assert done.status_code == 303 and done.headers["location"].startswith("/executions/e2e-change.")
    assert (await harness.http.get("/api/v1/pairings")).json()[0]["chosen_by"] == "nils"
