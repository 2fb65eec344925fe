"""Earned trust: a yellow step approved and successful 5 runs in a row is proposed to run by itself,
as a reviewed change; once it runs by itself, one failure makes it ask again."""

from __future__ import annotations

from pathlib import Path


from support.harness import Harness
from support.web import sign_in

RESTART = """---
id: restart-worker
---
# Restart the worker

## Steps

1. **Look at the queue**
   ```sh
   echo "queue depth 12"
   ```
2. **Restart the worker**
   Risk: yellow
   ```sh
   test {{ params.healthy }} = yes && echo restarted >> {{ params.log }}
   ```
"""



async def _approved_run(h: Harness, log: Path, bob: dict[str, str]) -> str:
    execution_id = await h.start("restart-worker", mode="copilot", log=str(log), healthy="yes")
    await h.wait_for(execution_id, "waiting_approval", step="restart-the-worker")
    await h.http.post(f"/api/v1/executions/{execution_id}/steps/restart-the-worker/approve", json={}, headers=bob)
    await h.wait_for(execution_id, "succeeded")
    return execution_id


async def test_five_approved_successes_earn_a_reviewed_promotion_and_one_failure_takes_it_back(
        product: Harness, tmp_path: Path) -> None:
    log, bob = tmp_path / "restarts.log", product.auth("bob", "approver")
    await product.load(RESTART)
    runs = [await _approved_run(product, log, bob) for _ in range(4)]
    trust = {t["step_id"]: t for t in (await product.http.get("/api/v1/runbooks/restart-worker/trust")).json()}
    assert trust["restart-the-worker"]["streak"] == 4 and not trust["restart-the-worker"]["runs_by_itself"]
    assert not [s for s in (await product.http.get("/api/v1/runbooks/restart-worker/suggestions")).json()
                if s["kind"] == "promote_step"], "four are not enough"

    runs.append(await _approved_run(product, log, bob))
    browser = await sign_in(product, "vera", "viewer")
    page = (await product.http.get("/runbooks/restart-worker", headers=browser.headers)).text
    assert "5/5 approved successes in a row" in page and f"Latest runs: {runs[-1]}: succeeded" in page
    offered = [s for s in (await product.http.get("/api/v1/runbooks/restart-worker/suggestions")).json()
               if s["kind"] == "promote_step"]
    assert len(offered) == 1 and offered[0]["step_id"] == "restart-the-worker"
    assert all(r in offered[0]["evidence"][0] for r in runs)
    assert "+   Runs by itself: yes" in offered[0]["diff"]

    accepted = await product.http.post(f"/api/v1/runbooks/restart-worker/suggestions/{offered[0]['id']}/accept")
    assert accepted.status_code == 201 and accepted.json()["state"] == "pending_review"
    assert any("run by itself" in r for r in accepted.json()["review_reasons"])
    reviewed = await product.http.post(f"/api/v1/runbooks/restart-worker/versions/{accepted.json()['version']}/review",
                                       json={"approve": True, "comment": "earned"},
                                       headers=product.auth("rita", "admin"))
    assert reviewed.status_code == 200, reviewed.text

    # Copilot, and the step runs unasked now.
    by_itself = await product.wait_for(
        await product.start("restart-worker", mode="copilot", log=str(log), healthy="yes"), "succeeded")
    step = next(s for s in by_itself["steps"] if s["id"] == "restart-the-worker")
    assert step["status"] == "succeeded" and step["approval"] is None

    # It fails once by itself: the next execution asks again, and the version without it is proposed.
    failed = await product.start("restart-worker", mode="copilot", log=str(log), healthy="no")
    await product.wait_for(failed, "failed")
    trust = {t["step_id"]: t for t in (await product.http.get("/api/v1/runbooks/restart-worker/trust")).json()}
    assert trust["restart-the-worker"]["runs_by_itself"] and trust["restart-the-worker"]["demoted"]
    assert trust["restart-the-worker"]["recent"][0].startswith(f"{failed}: failed")
    page = (await product.http.get("/runbooks/restart-worker", headers=browser.headers)).text
    assert "asks again: its latest run went wrong" in page
    asks = await product.start("restart-worker", mode="copilot", log=str(log), healthy="yes")
    await product.wait_for(asks, "waiting_approval", step="restart-the-worker")
    demote = [s for s in (await product.http.get("/api/v1/runbooks/restart-worker/suggestions")).json()
              if s["kind"] == "demote_step"]
    assert len(demote) == 1 and "-   Runs by itself: yes" in demote[0]["diff"]


async def test_a_red_step_cannot_be_set_to_run_by_itself(product: Harness) -> None:
    text = RESTART.replace("   Risk: yellow\n", "   Risk: red\n   Runs by itself: yes\n")
    resp = await product.http.post("/api/v1/runbooks", json={"text": text})
    assert resp.status_code == 422 and "always waits for an approval" in resp.json()["detail"]
