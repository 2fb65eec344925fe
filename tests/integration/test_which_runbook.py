"""When matching is unsure, the alert is not dropped: nothing starts, the webhook's answer says it
was asked about, the cockpit's Alerts page asks "which runbook?" with the top 3, and the runbook a
person picks runs and is learnt for the next alert of that name."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from support.alerts import alert_payload
from support.harness import Harness
from support.web import sign_in


def _unsure(log: Path, fingerprint: str) -> dict:
    # text score 0.44 for slack-escalation: between the floor where a person is asked (0.42) and the
    # threshold (0.48)
    body = alert_payload("ApprovalNobodyAnswers", log, fingerprint=fingerprint)
    body["alerts"][0]["annotations"] = {"summary": "an approval request waits and nobody answers it"}
    body["alerts"][0]["labels"]["instance"] = f"box-{fingerprint}"
    return body


async def test_an_unsure_match_asks_a_person_and_learns_the_answer(harness: Harness, tmp_path: Path) -> None:
    fingerprint = f"fp-{uuid.uuid4().hex[:8]}"
    first = (await harness.http.post("/api/v1/alerts/alertmanager", json=_unsure(tmp_path / "a.log", fingerprint))).json()
    assert first["executions"] == [] and first["unmatched"] == [fingerprint] and first["asked"] == [fingerprint]
    asked = (await harness.http.post("/api/v1/match", json=_unsure(tmp_path / "a.log", fingerprint))).json()[0]
    assert asked["runbook_id"] is None and asked["ask"] is True and "which runbook?" in asked["reason"]
    assert asked["candidates"][0]["runbook_id"] == "slack-escalation"

    browser = await sign_in(harness, "ola", "responder")
    page = (await harness.http.get("/alerts", headers=browser.headers)).text
    assert "Which runbook?" in page and "Run slack-escalation" in page
    alert_id = int(re.search(r'action="/alerts/(\d+)/start"', page).group(1))
    chosen = await harness.http.post(f"/alerts/{alert_id}/start", headers=browser.headers, follow_redirects=False,
                                     data={"csrf": browser.csrf, "runbook_id": "slack-escalation", "mode": "copilot"})
    assert chosen.status_code == 303 and chosen.headers["location"].startswith("/executions/slack-escalation.")
    assert "No alert is waiting for a choice." in (await harness.http.get("/alerts", headers=browser.headers)).text

    again = (await harness.http.post("/api/v1/alerts/alertmanager",
                                     json=_unsure(tmp_path / "b.log", f"fp-{uuid.uuid4().hex[:8]}"))).json()
    assert [e["runbook_id"] for e in again["executions"]] == ["slack-escalation"] and again["asked"] == []
