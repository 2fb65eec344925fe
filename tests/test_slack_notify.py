"""Slack notifications: an execution's life in one thread of a local Slack Web API stand-in.

End to end through the real engine (Temporal dev server, in-process worker, API over ASGI) with the
real slack_sdk WebClient speaking HTTP to tests/fake_slack.py; then the activity on its own for
retries, lazy threads, values Slack cannot take, and errors; then the pure message helpers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities import slack_messages as msgs
from activities.slack import SlackNotifier
from conftest import Harness, make_settings, running_product
from fake_slack import TOKEN, FakeSlack
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.tables import AlertRow, ApprovalRow, ExecutionRow, RunbookVersionRow, SlackMessageRow, StepRow
from runbooks.contract import ExecutionEvent
from runbooks.settings import Settings
from runbooks.storage.store import Store
from test_engine_e2e import decide, fire
from workers.main import build_worker

CHANNEL = "C0APPROVALS"

# -- reading what was posted ----------------------------------------------------------------------


def texts(value: Any) -> list[str]:
    """Every "text" string in a message's blocks (sections, fields, context, buttons, dialogs)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                found.append(item)
            else:
                found.extend(texts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(texts(item))
    return found


def shown(args: dict) -> str:
    """What a reader sees: blocks and fallback text, with Slack's escaping undone."""
    joined = "\n".join([args.get("text", ""), *texts(args.get("blocks") or [])])
    return joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_of(args: dict, kind: str) -> list[dict]:
    return [b for b in args.get("blocks") or [] if b.get("type") == kind]


def buttons(args: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks_of(args, "actions") for e in b["elements"]}


async def slack_call(fake: FakeSlack, method: str, predicate: Callable[[dict], bool], timeout: float = 15) -> dict:
    """fake.wait_for off the event loop: the in-process worker needs the loop meanwhile."""
    return await asyncio.to_thread(fake.wait_for, method, predicate, timeout)


def in_thread(root: dict, *words: str) -> Callable[[dict], bool]:
    return lambda a: a.get("thread_ts") == root["ts"] and all(w in shown(a) for w in words)


async def root_of(fake: FakeSlack, execution_id: str) -> dict:
    root = await slack_call(fake, "chat.postMessage", lambda a: not a.get("thread_ts") and execution_id in shown(a))
    ts = next(r for r in _posted_with_ts(fake) if r[0] is root)[1]
    return {**root, "ts": ts}


def _posted_with_ts(fake: FakeSlack) -> list[tuple[dict, str]]:
    """Pair each postMessage with the ts the fake answered: it numbers accepted calls in order."""
    with fake._lock:
        calls = list(fake.calls)
    out, ts = [], 1_700_000_000.000100
    for call in calls:
        ts += 0.0001
        if call.method == "chat.postMessage":
            out.append((call.args, f"{ts:.6f}"))
    return out


def ts_of(fake: FakeSlack, args: dict) -> str:
    return next(ts for posted, ts in _posted_with_ts(fake) if posted is args)


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


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

    await decide(slack, ex, "change-a", "approve", actor="slack:U0ALICE")
    updated = await slack_call(fake, "chat.update", lambda a: a["ts"] == request_ts)
    assert updated["channel"] == CHANNEL
    assert "<@U0ALICE>" in shown(updated) and "Approved" in shown(updated)
    assert "approve in test" in shown(updated), "the comment"
    assert "<!date^" in shown(updated), "when"
    assert not blocks_of(updated, "actions"), "the buttons are gone"
    assert f"echo change-a >> {log}" in shown(updated), "what was approved stays readable"
    await slack_call(fake, "chat.postMessage", in_thread(root, "Change A", "approved by <@U0ALICE>"))
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


# -- the activity on its own ----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'notify.db'}")
    create_schema(engine)
    return Store(engine)


def seed(store: Store, execution_id: str = "ex-1", needs: list[str] | None = None, risk: str = "yellow") -> None:
    with store.session() as s:
        s.add(RunbookVersionRow(runbook_id="rb", version=2, content_hash="x", source="", model={"title": "Fix it"}))
        s.add(ExecutionRow(id=execution_id, runbook_id="rb", runbook_version=2, mode="copilot", status="running",
                           alertname="PodCrash", started_by="alert"))
        s.add(AlertRow(source="alertmanager", fingerprint="fp", status="firing", alertname="PodCrash",
                       execution_id=execution_id,
                       labels={"alertname": "PodCrash", "namespace": "shop", "pod": "web-7", "team": "x"}))
        s.add(StepRow(execution_id=execution_id, step_id="restart", position=1, title="Restart the pod", risk=risk,
                      risk_reason="restarts serve traffic again", command="kubectl delete pod web-7",
                      status="waiting_approval", needs=needs or []))
        s.commit()


def event(kind: str, step: str | None = "restart", execution_id: str = "ex-1", **kw) -> ExecutionEvent:
    return ExecutionEvent(execution_id=execution_id, kind=kind, step_id=step, message=kw.pop("message", kind), **kw)


def notifier(tmp_path: Path, store: Store, fake: FakeSlack, **extra) -> SlackNotifier:
    settings = make_settings(tmp_path, "127.0.0.1:1", **{"slack_bot_token": TOKEN, "slack_channel": CHANNEL,
                                                          "slack_api_base_url": fake.base_url, **extra})
    return SlackNotifier(settings, store)


def test_retries_never_make_a_second_thread_or_a_second_request(tmp_path: Path, store: Store,
                                                               fake: FakeSlack) -> None:
    seed(store)
    slack = notifier(tmp_path, store, fake)
    slack.notify(event("started", None))
    slack.notify(event("started", None))
    slack.notify(event("approval_requested"))
    slack.notify(event("approval_requested"))

    posted = fake.of("chat.postMessage")
    assert len(posted) == 2, [shown(p) for p in posted]
    root, request = posted
    assert "Fix it" in shown(root) and "namespace=shop" in shown(root) and "pod=web-7" in shown(root)
    assert "team=" not in shown(root)
    assert request["thread_ts"] == "1700000000.000200"
    assert [u["ts"] for u in fake.of("chat.update")] == ["1700000000.000300"], "the retry refreshed it"
    assert blocks_of(fake.of("chat.update")[0], "actions"), "still waiting: the buttons stay"


def test_a_missing_thread_is_created_when_first_needed(tmp_path: Path, store: Store, fake: FakeSlack) -> None:
    seed(store)
    notifier(tmp_path, store, fake).notify(event("approval_requested"))
    root, request = fake.of("chat.postMessage")
    assert not root.get("thread_ts") and "ex-1" in shown(root)
    assert request["thread_ts"] == "1700000000.000200" and "kubectl delete pod web-7" in shown(request)


def test_a_step_that_needs_values_says_how_to_give_them_and_has_no_approve_button(
        tmp_path: Path, store: Store, fake: FakeSlack) -> None:
    seed(store, needs=["labels.container"])
    notifier(tmp_path, store, fake).notify(event("approval_requested"))
    request = fake.of("chat.postMessage")[-1]
    assert set(buttons(request)) == {"reject"}
    assert "labels.container" in shown(request) and "/api/v1/executions/ex-1/steps/restart/approve" in shown(request)


def test_a_decision_without_a_request_message_is_still_told(tmp_path: Path, store: Store, fake: FakeSlack) -> None:
    seed(store)
    with store.session() as s:
        s.add(ApprovalRow(execution_id="ex-1", step_id="restart", approved=False, actor="escalation-timer",
                          comment="no decision within 30s", decided_at=datetime.now(timezone.utc)))
        s.commit()
    notifier(tmp_path, store, fake).notify(event("decided"))
    assert fake.of("chat.update") == []
    line = fake.of("chat.postMessage")[-1]
    assert "rejected by the escalation timer" in shown(line) and "no decision within 30s" in shown(line)


def test_slack_errors_are_raised_and_missing_configuration_is_not(tmp_path: Path, store: Store,
                                                                  fake: FakeSlack) -> None:
    seed(store)
    with pytest.raises(ApplicationError) as bad_token:
        notifier(tmp_path, store, fake, slack_bot_token="xoxb-wrong").notify(event("started", None))
    assert bad_token.value.non_retryable, "a retry cannot fix a bad token"

    class Flaky(FakeSlack):
        failures = 1

        def answer(self, method: str, args: dict, auth: str) -> dict:
            if self.failures:
                self.failures -= 1
                return {"ok": False, "error": "internal_error"}
            return super().answer(method, args, auth)

    with Flaky() as flaky:
        slack = notifier(tmp_path, store, flaky)
        with pytest.raises(SlackApiError):  # retryable: Temporal tries again
            slack.notify(event("started", None))
        slack.notify(event("started", None))
        assert len(flaky.of("chat.postMessage")) == 1

    unconfigured = make_settings(tmp_path, "127.0.0.1:1", slack_api_base_url=fake.base_url)
    SlackNotifier(unconfigured, store).notify(event("started", None, execution_id="ex-2"))
    assert fake.calls == [], "refused calls are not recorded, and the unconfigured one made none"


# -- message helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "markup"), [
    ("U0ONCALL", "<@U0ONCALL>"), ("W123ABC", "<@W123ABC>"), ("slack:U42", "<@U42>"),
    ("S0SRE1", "<!subteam^S0SRE1>"), ("@here", "<!here>"), ("@channel", "<!channel>"),
    ("on-call-secondary", "*on-call-secondary*"), ("SRE", "*SRE*"), ("@alice", "*@alice*"),
    ("<b>", "*&lt;b&gt;*"), (None, "*on-call*"),
])
def test_escalation_targets_become_mentions(target: str | None, markup: str) -> None:
    assert msgs.mention(target) == markup


def test_actors_and_long_commands_render_safely() -> None:
    assert msgs.actor("slack:U0ALICE") == "<@U0ALICE>"
    assert msgs.actor("alice <script>") == "*alice &lt;script&gt;*"
    block = msgs.code_block("echo '<&>' ```" * 1000)
    assert len(block) < msgs.SECTION_LIMIT and "more characters" in block
    assert block.count("```") == 2, "a fence in the command cannot close ours"
    long_id = "x" * 400
    assert len(msgs.button_value(long_id, "s" * 128)) < msgs.BUTTON_VALUE_LIMIT
    assert msgs.parse_button_value(msgs.button_value("e.1", "s")) == ("e.1", "s")
