"""Notes people add to an execution: in its timeline and its report; "I also ran `cmd`" in two runs
of a runbook becomes a suggested step, which a review guards like any added command."""

from __future__ import annotations

from pathlib import Path

from support.alerts import decide, fire
from support.harness import Harness
from support.web import sign_in


async def test_commands_people_ran_by_hand_become_a_suggested_step(harness: Harness, tmp_path: Path) -> None:
    h = harness
    runs = []
    for n in range(2):
        execution_id = await fire(h, "E2EChange", tmp_path / f"n{n}.log")
        await decide(h, execution_id, "change-a", "reject")
        await h.wait_for(execution_id, "failed", "rolled_back")
        runs.append(execution_id)

    added = await h.http.post(f"/api/v1/executions/{runs[0]}/notes", headers=h.auth("nia", "responder"),
                              json={"text": "cache was cold; I also ran `systemctl restart nginx` and it recovered"})
    assert added.status_code == 201 and added.json()["command"] == "systemctl restart nginx"
    assert added.json()["author"] == "nia"
    assert (await h.http.post(f"/api/v1/executions/{runs[0]}/notes", json={"text": "x"},
                              headers=h.auth("vi", "viewer"))).status_code == 403
    assert (await h.http.post(f"/api/v1/executions/{runs[0]}/notes", json={"text": "   "},
                              headers=h.auth("nia"))).status_code == 422

    browser = await sign_in(h, "ole", "responder")
    posted = await h.http.post(f"/executions/{runs[1]}/notes", headers=browser.headers,
                               data={"csrf": browser.csrf, "text": "same again: we ran: systemctl restart nginx"})
    assert posted.status_code == 303
    page = (await h.http.get(f"/executions/{runs[1]}", headers=browser.headers)).text
    assert "ole: same again: we ran: systemctl restart nginx" in page, "in the timeline"
    report = (await h.http.get(f"/api/v1/executions/{runs[0]}/report")).text
    assert "I also ran" in report and "nia" in report

    found = [s for s in (await h.http.get("/api/v1/runbooks/e2e-change/suggestions")).json() if s["kind"] == "add_step"]
    assert len(found) == 1
    step = found[0]
    assert "people ran `systemctl restart nginx` by hand in 2 runs" in step["evidence"][0]
    assert "+5. **Also run systemctl restart nginx**" in step["diff"]
    accepted = await h.http.post(f"/api/v1/runbooks/e2e-change/suggestions/{step['id']}/accept",
                                 headers=h.auth("ada", "author"))
    assert accepted.status_code == 201 and accepted.json()["state"] == "pending_review"
    assert any("adds yellow step" in r for r in accepted.json()["review_reasons"]), "a command people typed is reviewed"
