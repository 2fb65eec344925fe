"""The incident report of a real execution: through the REST API as Markdown, and in the cockpit as
a page. An execution approved twice and then rejected at its red step, with a reason, rolls back;
its report says who approved, why the rejection, what was undone, and that it rolled back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.alerts import decide, fire, lines
from runbooks.settings import LlmSettings
from support.fake_anthropic import FakeAnthropic
from support.harness import Harness, make_settings, running_product
from support.web import sign_in

REASON = "too risky during the sale"


async def test_the_report_of_a_rejected_and_rolled_back_execution(harness: Harness, tmp_path: Path) -> None:
    h = harness
    log = tmp_path / "run.log"
    execution_id = await fire(h, "E2EChange", log)
    await decide(h, execution_id, "change-a", "approve", actor="alice")
    await decide(h, execution_id, "change-b", "approve", actor="alice")
    await h.wait_for(execution_id, "waiting_approval", step="risky-change")
    rejected = await h.http.post(f"/api/v1/executions/{execution_id}/steps/risky-change/reject",
                                 json={"comment": REASON}, headers=h.auth("bob"))
    assert rejected.status_code == 202, rejected.text
    await h.wait_for(execution_id, "rolled_back")
    for _ in range(100):  # the end's timeline line is written just after the status: the report reads both
        events = (await h.http.get(f"/api/v1/executions/{execution_id}")).json()["events"]
        if any(e["kind"] == "finished" for e in events):
            break
        await asyncio.sleep(0.05)
    assert lines(log) == ["check", "change-a", "change-b", "undo-b", "undo-a"]

    resp = await h.http.get(f"/api/v1/executions/{execution_id}/report")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/markdown; charset=utf-8"
    report = resp.text
    assert report.startswith("# Incident report: End-to-end change with approvals\n")
    assert "- **Status:** rolled back" in report and "- **Instance:** web-1" in report
    assert "- **Change A** (yellow) approved by alice at " in report
    assert "- **Risky change** (red) rejected by bob at " in report and f"“{REASON}”" in report
    rollback = report.split("\n## Rollback\n")[1].split("\n## ")[0]
    assert rollback.index("### Change B — rolled back (exit 0)") < rollback.index("### Change A — rolled back (exit 0)")
    assert f"echo undo-a >> {log}" in rollback and f"echo undo-b >> {log}" in rollback
    assert f"**Risky change** was rejected by bob: “{REASON}”" in report.split("\n## Recommendations\n")[1]
    again = await h.http.get(f"/api/v1/executions/{execution_id}/report")
    assert again.text == report, "the same facts give the same report"

    browser = await sign_in(h, "ivy", "viewer")
    execution_page = (await h.http.get(f"/executions/{execution_id}", headers=browser.headers)).text
    assert f'href="/executions/{execution_id}/report"' in execution_page
    page = await h.http.get(f"/executions/{execution_id}/report", headers=browser.headers)
    assert page.status_code == 200
    assert "<h1>Incident report: End-to-end change with approvals</h1>" in page.text
    assert "<h2>Decisions</h2>" in page.text and f"“{REASON}”" in page.text
    assert f'href="/api/v1/executions/{execution_id}/report"' in page.text
    assert "http://" not in page.text.replace('xmlns="http://www.w3.org/2000/svg"', "")


async def test_an_unknown_execution_has_no_report(harness: Harness) -> None:
    assert (await harness.http.get("/api/v1/executions/no-such-execution/report")).status_code == 404
    browser = await sign_in(harness, "ivy", "viewer")
    page = await harness.http.get("/executions/no-such-execution/report", headers=browser.headers)
    assert page.status_code == 404


async def test_an_llm_summary_restates_only_the_timeline_and_is_asked_for(
        temporal, temporal_address: str, tmp_path: Path) -> None:
    with FakeAnthropic() as anthropic:
        llm = LlmSettings(api_key=anthropic.api_key, model="claude-test", base_url=anthropic.base_url, timeout=5)
        async with running_product(temporal.client, make_settings(tmp_path, temporal_address, llm=llm), tmp_path) as h:
            ex = await fire(h, "E2EFailing", tmp_path / "run.log")
            await h.wait_for(ex, "rolled_back", "failed")
            plain = (await h.http.get(f"/api/v1/executions/{ex}/report")).text
            assert "In short" not in plain and anthropic.requests == [], "the deterministic report asks nobody"

            anthropic.reply_tool_use({"sentences": [
                {"text": "The runbook started in autopilot.", "cites": [1]},
                {"text": "It failed with exit 42 on db-9.", "cites": [1]}]}, name="record_sentences")
            told = (await h.http.get(f"/api/v1/executions/{ex}/report", params={"narrate": "true"})).text
            assert "## In short (written by an LLM, checked against the timeline)" in told
            assert "- The runbook started in autopilot. [1]" in told and "exit 42" not in told
            assert "_1 sentence(s) left out: they said what the timeline does not._" in told
            start = told.index("\n## In short")
            assert told[:start] + told[told.index("\n## ", start + 3):] == plain, "the report itself is unchanged"
            facts = anthropic.requests[-1].body["messages"][0]["content"]
            assert "[1] " in facts and "started" in facts
