"""Slack notifications: an execution's life in one thread of a local Slack Web API stand-in.

End to end through the real engine (Temporal dev server, in-process worker, API over ASGI) with the
real slack_sdk WebClient speaking HTTP to tests/support/fake_slack.py. The notifier on its own and the
messages are specified in tests/unit/test_slack_notifier.py.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from runbooks.settings import Settings
from runbooks.storage.tables import SlackMessageRow
from support.alerts import alert_payload, decide, fire
from support.fake_slack import TOKEN, FakeSlack
from support.harness import Harness, make_settings, running_product
from support.slack_calls import CHANNEL, blocks_of, buttons, in_thread, root_of, shown, slack_call, texts, ts_of
from workers.main import build_worker


# -- fixtures -------------------------------------------------------------------------------------


def slack_settings(tmp_path: Path, temporal_address: str, fake: FakeSlack, **extra) -> Settings:
    return make_settings(tmp_path, temporal_address, slack_bot_token=TOKEN, slack_channel=CHANNEL,
                         slack_api_base_url=fake.base_url, **extra)


@pytest.fixture
async def slack(temporal: WorkflowEnvironment, temporal_address: str, tmp_path: Path,
                fake: FakeSlack) -> AsyncIterator[Harness]:
    async with running_product(temporal.client, slack_settings(tmp_path, temporal_address, fake), tmp_path) as h:
        yield h


# -- end to end -----------------------------------------------------------------------------------


async def test_an_execution_lives_in_one_thread_and_decisions_update_the_request_in_place(
        slack: Harness, fake: FakeSlack, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await fire(slack, "E2EChange", log)

    root = await root_of(fake, ex)
    assert root["channel"] == CHANNEL
    text = shown(root)
    assert "End-to-end change with approvals" in text
    for label in ("E2EChange", "severity=critical", "instance=web-1", "copilot"):
        assert label in text, label
    assert "log=" not in text, "only the key labels"

    body = await slack.wait_for(ex, "waiting_approval", step="change-a")
    reason = {s["id"]: s["risk_reason"] for s in body["steps"]}
    request = await slack_call(fake, "chat.postMessage", in_thread(root, "Approval needed", "Change A"))
    assert request["channel"] == CHANNEL and request["reply_broadcast"] is True, "the channel sees it too"
    text = shown(request)
    assert f"echo change-a >> {log}" in text and "yellow" in text and reason["change-a"] in text
    assert "severity=critical" in text and "instance=web-1" in text
    assert any(f"```echo change-a &gt;&gt; {log}" in t for t in texts(request["blocks"])), "a code block"
    found = buttons(request)
    assert set(found) == {"approve", "reject"}
    assert found["approve"]["style"] == "primary" and found["reject"]["style"] == "danger"
    assert "confirm" not in found["approve"], "only red steps ask twice"
    for button in found.values():
        assert json.loads(button["value"]) == {"e": ex, "s": "change-a"}
    request_ts = ts_of(fake, request)

    await decide(slack, ex, "change-a", "approve", actor="alice")
    updated = await slack_call(fake, "chat.update", lambda a: a["ts"] == request_ts)
    assert updated["channel"] == CHANNEL
    assert "*alice*" in shown(updated) and "Approved" in shown(updated)
    assert "approve in test" in shown(updated), "the comment"
    assert "<!date^" in shown(updated), "when"
    assert not blocks_of(updated, "actions"), "the buttons are gone"
    assert f"echo change-a >> {log}" in shown(updated), "what was approved stays readable"
    await slack_call(fake, "chat.postMessage", in_thread(root, "Change A", "approved by *alice*"))
    await slack_call(fake, "chat.postMessage", in_thread(root, "Look before touching", "succeeded"))

    await decide(slack, ex, "change-b", "approve", actor="bob")
    red = await slack_call(fake, "chat.postMessage", in_thread(root, "Approval needed", "Risky change"))
    assert "red" in shown(red) and "🔴" in shown(red) and reason["risky-change"] in shown(red)
    confirm = buttons(red)["approve"]["confirm"]
    assert confirm["confirm"]["text"] and confirm["deny"]["text"] and "Risky change" in " ".join(texts(confirm))
    assert "confirm" not in buttons(red)["reject"]
    b_ts = ts_of(fake, await slack_call(fake, "chat.postMessage", in_thread(root, "Approval needed", "Change B")))
    assert "*bob*" in shown(await slack_call(fake, "chat.update", lambda a: a["ts"] == b_ts))

    await decide(slack, ex, "risky-change", "approve", actor="carol")
    await slack.wait_for(ex, "succeeded")
    await slack_call(fake, "chat.postMessage", in_thread(root, "Finished: succeeded", "all steps succeeded"))
    closed = await slack_call(fake, "chat.update", lambda a: a["ts"] == root["ts"])
    assert "succeeded" in shown(closed) and "End-to-end change with approvals" in shown(closed)

    posts = [a for a in fake.of("chat.postMessage") if ex in shown(a) or a.get("thread_ts") == root["ts"]]
    assert sum(1 for a in posts if not a.get("thread_ts")) == 1, "one thread per execution"
    assert len([a for a in fake.of("chat.postMessage") if "Approval needed" in shown(a)]) == 3
    with slack.store.session() as s:
        rows = {r.step_id: r.ts for r in s.exec(select(SlackMessageRow).where(SlackMessageRow.execution_id == ex))}
    assert rows == {"": root["ts"], "change-a": request_ts, "change-b": b_ts, "risky-change": ts_of(fake, red)}


async def test_an_escalation_mentions_its_target_in_the_thread(slack: Harness, fake: FakeSlack,
                                                              tmp_path: Path) -> None:
    ex = await fire(slack, "SlackEscalation", tmp_path / "run.log")
    root = await root_of(fake, ex)
    escalation = await slack_call(fake, "chat.postMessage", in_thread(root, "<@U0ONCALL>"))
    assert "Wait for someone" in shown(escalation) and "still waits for approval" in shown(escalation)
    assert escalation["reply_broadcast"] is True

    request = await slack_call(fake, "chat.postMessage", in_thread(root, "Approval needed"))
    await decide(slack, ex, "wait-for-someone", "reject", actor="dave")
    updated = await slack_call(fake, "chat.update", lambda a: a["ts"] == ts_of(fake, request))
    assert "Rejected" in shown(updated) and "*dave*" in shown(updated) and not blocks_of(updated, "actions")
    await slack.wait_for(ex, "failed")
    end = await slack_call(fake, "chat.postMessage", in_thread(root, "Finished: failed"))
    assert "rejected by dave" in shown(end) and "❌" in shown(end)


async def test_a_drill_says_it_is_one_in_its_thread_and_its_approval_requests(slack: Harness, fake: FakeSlack,
                                                                                tmp_path: Path) -> None:
    drill = await slack.http.post("/api/v1/drills", json={"runbook_id": "slack-escalation",
                                                           "labels": {"log": str(tmp_path / "d.log"), "instance": "d-1"}})
    assert drill.status_code == 201, drill.text
    ex = drill.json()["execution_id"]
    root = await root_of(fake, ex)
    assert "DRILL: A step nobody answers quickly" in shown(root) and "instance=d-1" in shown(root)
    request = await slack_call(fake, "chat.postMessage", in_thread(root, "Approval needed"))
    assert "DRILL: A step nobody answers quickly" in shown(request)
    await decide(slack, ex, "wait-for-someone", "approve", actor="dave")
    await slack.wait_for(ex, "succeeded")
    assert not (tmp_path / "d.log").exists()


async def test_when_an_incident_ends_its_report_is_posted_once_to_its_threads(
        slack: Harness, fake: FakeSlack, tmp_path: Path) -> None:
    fingerprint = f"fp-{uuid.uuid4().hex[:8]}"
    ex = await fire(slack, "E2EChange", tmp_path / "run.log", fingerprint=fingerprint)
    root = await root_of(fake, ex)
    for step, who in (("change-a", "alice"), ("change-b", "alice"), ("risky-change", "bob")):
        await decide(slack, ex, step, "approve", actor=who)
    await slack.wait_for(ex, "succeeded")
    resolved = alert_payload("E2EChange", tmp_path / "run.log", status="resolved", fingerprint=fingerprint)
    for _ in range(2):  # Alertmanager may send the resolution twice: one report
        assert (await slack.http.post("/api/v1/alerts/alertmanager", json=resolved)).status_code == 202
    report = await slack_call(fake, "chat.postMessage", in_thread(root, "Incident report"))
    text = shown(report)
    assert "E2EChange on instance=web-1" in text and "End-to-end change with approvals" in text
    assert "bob" in text, "who approved the red step"
    assert report["reply_broadcast"] is True and "/report" in text
    await asyncio.sleep(1.5)
    assert len([a for a in fake.of("chat.postMessage") if in_thread(root, "Incident report")(a)]) == 1


async def test_without_slack_nothing_is_posted_and_executions_run(temporal: WorkflowEnvironment,
                                                                  temporal_address: str, tmp_path: Path,
                                                                  fake: FakeSlack) -> None:
    settings = make_settings(tmp_path, temporal_address, slack_api_base_url=fake.base_url)
    assert not settings.slack_enabled
    async with running_product(temporal.client, settings, tmp_path) as h:
        ex = await fire(h, "E2EFailing", tmp_path / "run.log")
        await h.wait_for(ex, "rolled_back")
    assert fake.calls == []


async def test_a_worker_without_slack_settings_makes_notify_a_no_op(temporal: WorkflowEnvironment,
                                                                    temporal_address: str, tmp_path: Path,
                                                                    fake: FakeSlack) -> None:
    """The API asked for notifications, the worker that picks them up cannot send them: no failure."""
    api_settings = slack_settings(tmp_path, temporal_address, fake)
    worker_settings = api_settings.model_copy(update={"slack_bot_token": None})
    async with running_product(temporal.client, api_settings, tmp_path, with_worker=False) as h:
        with ThreadPoolExecutor(max_workers=32) as executor:
            async with build_worker(temporal.client, worker_settings, h.store, executor):
                ex = await fire(h, "E2EFailing", tmp_path / "run.log")
                await h.wait_for(ex, "rolled_back")
        history = await temporal.client.get_workflow_handle(ex).fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
                 if e.HasField("activity_task_scheduled_event_attributes")]
    assert "notify" in scheduled
    assert not any(e.HasField("activity_task_failed_event_attributes") for e in history.events)
    assert fake.calls == []
