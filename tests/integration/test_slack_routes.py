"""Slack's doors, end to end: signed button clicks, the reject modal and `/runbook`, on the real engine.

Requests are built in Slack's documented format (form-encoded `payload=<json>` for interactions,
form fields for slash commands) and signed exactly as Slack signs them. The API answers Slack
through the real slack_sdk pointed at a local fake of the Web API, which records the calls. The
tests read only the doors' own calls (ephemeral messages, views.open) and the execution's state,
never the notifier's messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from sqlmodel import select

from runbooks.storage.tables import SlackMessageRow
from services import accounts
from support import fake_slack
from support.alerts import fire, lines
from support.fake_slack import FakeSlack
from support.harness import Harness, make_settings, running_product

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0APPROVALS"
ALICE, BOB, CAROL, DANA, MALLORY = "U0ALICE", "U0BOB", "U0CAROL", "U0DANA", "U0MALLORY"  # Alice and Bob approve


# -- Slack's side of the wire -------------------------------------------------------------------------

def signed(body: bytes, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Headers as Slack sends them: v0=HMAC-SHA256(secret, "v0:<timestamp>:<body>")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def button(user: str, action_id: str, execution_id: str, step_id: str, *, value: str | None = None,
           trigger_id: str | None = None) -> dict[str, Any]:
    """A block_actions payload for a click on one of the notifier's Approve/Reject buttons."""
    ts = "1700000000.000200"
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEST"},
        "api_app_id": "A0TEST", "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False},
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.98765.{uuid.uuid4().hex[:16]}",
        "team": {"id": "T0TEST", "domain": "acme"},
        "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": CHANNEL, "name": "ops-approvals"},
        "message": {"type": "message", "ts": ts, "text": "step waits for approval", "blocks": []},
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0TEST/1234/abcd",
        "actions": [{
            "action_id": action_id, "block_id": "decide", "type": "button", "style": "primary",
            "text": {"type": "plain_text", "text": action_id.title(), "emoji": True},
            "value": value if value is not None else json.dumps({"e": execution_id, "s": step_id}),
            "action_ts": f"{time.time():.6f}",
        }],
    }


def reject_submission(user: str, metadata: dict[str, Any] | str, reason: str) -> dict[str, Any]:
    """A view_submission payload for the rejection modal, as Slack posts it."""
    return {
        "type": "view_submission",
        "team": {"id": "T0TEST", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEST"},
        "api_app_id": "A0TEST", "token": "legacy-verification-token", "trigger_id": "111.222.submit",
        "view": {
            "id": "V0TEST", "team_id": "T0TEST", "type": "modal", "callback_id": "reject_reason",
            "private_metadata": metadata if isinstance(metadata, str) else json.dumps(metadata),
            "title": {"type": "plain_text", "text": "Reject step"}, "blocks": [],
            "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}},
            "hash": "1700000000.abcdef", "app_id": "A0TEST", "bot_id": "B0TEST",
        },
        "response_urls": [], "is_enterprise_install": False,
    }


def form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class Product:
    h: Harness
    slack: FakeSlack

    @property
    def http(self) -> httpx.AsyncClient:
        return self.h.http

    async def interact(self, payload: dict[str, Any], **sign_kw: Any) -> httpx.Response:
        body = form(payload)
        return await self.http.post("/slack/interactions", content=body, headers=signed(body, **sign_kw))

    async def command(self, text: str, user: str = ALICE) -> dict[str, Any]:
        body = urlencode({
            "token": "legacy-verification-token", "team_id": "T0TEST", "team_domain": "acme",
            "channel_id": CHANNEL, "channel_name": "ops-approvals", "user_id": user, "user_name": user.lower(),
            "command": "/runbook", "text": text, "api_app_id": "A0TEST", "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0TEST/1234/abcd",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0"}).encode()
        resp = await self.http.post("/slack/commands", content=body, headers=signed(body))
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] and all(isinstance(b, dict) and b.get("type") for b in answer["blocks"])
        return answer

    async def execution(self, execution_id: str) -> dict[str, Any]:
        resp = await self.http.get(f"/api/v1/executions/{execution_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def step(self, execution_id: str, step_id: str) -> dict[str, Any]:
        return next(s for s in (await self.execution(execution_id))["steps"] if s["id"] == step_id)

    async def ephemeral(self, user: str, predicate: Callable[[dict], bool] = lambda a: True) -> dict[str, Any]:
        return await posted(self.slack, "chat.postEphemeral", lambda a: a.get("user") == user and predicate(a))


async def posted(slack: FakeSlack, method: str, predicate: Callable[[dict], bool],
                 timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in slack.of(method) if predicate(a)]
        if found:
            return found[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {method} matching; calls: {[(c.method, c.args) for c in slack.calls]}")


def started_id(answer: dict[str, Any]) -> str:
    match = re.search(r" as `([^`]+)`", answer["text"])
    assert match, answer["text"]
    return match[1]


# -- the product, with Slack configured ------------------------------------------------------------------

@pytest.fixture(scope="module")
async def slack_product(temporal: WorkflowEnvironment, temporal_address: str,
                        tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Product]:
    tmp = tmp_path_factory.mktemp("slack")
    with FakeSlack() as slack:
        settings = make_settings(tmp, temporal_address, slack_signing_secret=SECRET, slack_bot_token=fake_slack.TOKEN,
                                 slack_channel=CHANNEL, slack_api_base_url=slack.base_url,
                                 slack_approvers=f"{ALICE},{BOB}")
        async with running_product(temporal.client, settings, tmp) as h:  # the worker runs the notifier too
            svc = h.services
            # Carol and Dana are users their Slack ids map to; Alice and Bob act through SLACK_APPROVERS
            accounts.add_user(svc.identity, svc.audit_log, "test", "carol", ["responder"], ["default"], CAROL)
            accounts.add_user(svc.identity, svc.audit_log, "test", "dana", ["viewer"], ["default"], DANA)
            yield Product(h, slack)


@pytest.fixture
def product(slack_product: Product) -> Product:
    with slack_product.slack._lock:
        slack_product.slack.calls.clear()
    return slack_product


async def waiting(p: Product, log: Path, step: str = "change-a") -> str:
    ex = await fire(p.h, "E2EChange", log)
    await p.h.wait_for(ex, "waiting_approval", step=step)
    return ex


# -- buttons -------------------------------------------------------------------------------------------

async def test_approve_button_runs_the_step_and_records_the_slack_user(product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)

    resp = await product.interact(button(ALICE, "approve", ex, "change-a"))
    assert resp.status_code == 200 and resp.content == b""
    body = await product.h.wait_for(ex, "waiting_approval", step="change-b")

    step = next(s for s in body["steps"] if s["id"] == "change-a")
    assert step["status"] == "succeeded"
    assert step["approval"]["actor"] == "slack:U0ALICE" and step["approval"]["approved"] is True
    assert lines(log) == ["check", "change-a"]
    assert product.slack.of("chat.postEphemeral") == [], "an accepted decision is shown by the notifier"


async def test_someone_not_in_slack_approvers_is_told_privately_and_nothing_changes(
        product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)

    assert (await product.interact(button(MALLORY, "approve", ex, "change-a"))).status_code == 200
    told = await product.ephemeral(MALLORY)
    assert told["channel"] == CHANNEL and "not mapped to a Living Runbooks user" in told["text"]
    assert "--slack-id U0MALLORY" in told["text"] and "Nothing was changed" in told["text"]

    assert (await product.interact(button(MALLORY, "reject", ex, "change-a"))).status_code == 200
    assert len([a for a in product.slack.of("chat.postEphemeral") if a["user"] == MALLORY]) == 2
    assert product.slack.of("views.open") == [], "no rejection form for someone who may not reject"

    submitted = await product.interact(reject_submission(MALLORY, {"e": ex, "s": "change-a", "c": CHANNEL}, "no"))
    assert submitted.status_code == 200
    assert submitted.json()["response_action"] == "errors"
    assert "not mapped to a Living Runbooks user" in submitted.json()["errors"]["reason"]

    await asyncio.sleep(0.5)
    step = await product.step(ex, "change-a")
    assert step["status"] == "waiting_approval" and step["approval"] is None
    assert lines(log) == ["check"]


async def test_a_mapped_slack_user_is_judged_by_that_users_roles_and_recorded_by_name(
        product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)
    assert (await product.interact(button(DANA, "approve", ex, "change-a"))).status_code == 200
    told = await product.ephemeral(DANA)
    assert "dana may not approve steps: it needs the role responder" in told["text"], "a viewer only reads"
    assert (await product.step(ex, "change-a"))["status"] == "waiting_approval"

    assert (await product.interact(button(CAROL, "approve", ex, "change-a"))).status_code == 200
    await product.h.wait_for(ex, "waiting_approval", step="change-b")
    assert (await product.step(ex, "change-a"))["approval"]["actor"] == "carol"
    decided = product.h.services.audit_log.query(action="step.approve", target=f"execution:{ex}")
    assert [(e.actor, e.detail["via"]) for e in decided] == [("carol", "slack")]


async def test_unsigned_forged_and_stale_requests_are_refused_and_change_nothing(
        product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)
    body = form(button(ALICE, "approve", ex, "change-a"))
    url = "/slack/interactions"

    wrong = await product.http.post(url, content=body, headers=signed(body, secret="not-the-secret"))
    assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]
    stale = await product.http.post(url, content=body, headers=signed(body, timestamp=int(time.time()) - 600))
    assert stale.status_code == 401 and "5 minutes" in stale.json()["detail"]
    future = await product.http.post(url, content=body, headers=signed(body, timestamp=int(time.time()) + 600))
    assert future.status_code == 401
    unsigned = await product.http.post(url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401 and "missing" in unsigned.json()["detail"]
    not_a_time = await product.http.post(url, content=body, headers={**signed(body), "X-Slack-Request-Timestamp": "x1"})
    assert not_a_time.status_code == 401
    tampered = form(button(ALICE, "approve", ex, "change-b"))
    swapped = await product.http.post(url, content=tampered, headers=signed(body))
    assert swapped.status_code == 401

    cmd = urlencode({"command": "/runbook", "text": f"run e2e-change log={log}", "user_id": ALICE}).encode()
    forged_command = await product.http.post("/slack/commands", content=cmd, headers=signed(cmd, secret="nope"))
    assert forged_command.status_code == 401

    await asyncio.sleep(0.5)
    assert (await product.step(ex, "change-a"))["status"] == "waiting_approval"
    assert lines(log) == ["check"]
    assert not product.slack.of("chat.postEphemeral") and not product.slack.of("views.open")
    mine = (await product.http.get("/api/v1/executions", params={"runbook_id": "e2e-change"})).json()
    assert not [e for e in mine if e["params"].get("log") == str(log)], "the forged command started nothing"


async def test_a_second_click_changes_nothing_and_says_who_decided(product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)
    await product.interact(button(ALICE, "approve", ex, "change-a"))
    await product.h.wait_for(ex, "waiting_approval", step="change-b")

    again = await product.interact(button(BOB, "approve", ex, "change-a"))
    assert again.status_code == 200
    told = await product.ephemeral(BOB)
    assert "already approved by <@U0ALICE>" in told["text"] and "Nothing was changed" in told["text"]
    late_reject = await product.interact(button(BOB, "reject", ex, "change-a"))
    assert late_reject.status_code == 200
    assert product.slack.of("views.open") == [], "no rejection form for a step that was decided"

    # two people clicking at the same moment: one decision, the step runs once
    clicks = await asyncio.gather(product.interact(button(ALICE, "approve", ex, "change-b")),
                                  product.interact(button(BOB, "approve", ex, "change-b")))
    assert [c.status_code for c in clicks] == [200, 200]
    body = await product.h.wait_for(ex, "waiting_approval", step="risky-change")
    steps = {s["id"]: s for s in body["steps"]}
    assert steps["change-a"]["approval"]["actor"] == "slack:U0ALICE"
    assert steps["change-b"]["approval"]["actor"] in ("slack:U0ALICE", "slack:U0BOB")
    await asyncio.sleep(0.3)
    assert lines(log) == ["check", "change-a", "change-b"]


async def test_reject_asks_why_in_a_modal_and_the_reason_is_recorded_with_the_rollback(
        product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)
    await product.interact(button(ALICE, "approve", ex, "change-a"))
    await product.h.wait_for(ex, "waiting_approval", step="change-b")

    resp = await product.interact(button(BOB, "reject", ex, "change-b", trigger_id="12345.98765.abcdef"))
    assert resp.status_code == 200
    opened = await posted(product.slack, "views.open", lambda a: a.get("trigger_id") == "12345.98765.abcdef")
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == "reject_reason"
    metadata = json.loads(view["private_metadata"])
    assert metadata == {"e": ex, "s": "change-b", "c": CHANNEL}
    field = next(b for b in view["blocks"] if b["type"] == "input")
    assert field["block_id"] == "reason" and field["element"]["type"] == "plain_text_input"
    assert field["element"]["multiline"] is True and field.get("optional", False) is False
    assert (await product.step(ex, "change-b"))["status"] == "waiting_approval", "opening the form decides nothing"

    blank = await product.interact(reject_submission(BOB, metadata, "   "))
    assert blank.json()["response_action"] == "errors"

    reason = "disk recovered by itself <@here> & no action needed"
    submitted = await product.interact(reject_submission(BOB, metadata, reason))
    assert submitted.status_code == 200 and submitted.content == b"", "an empty 200 closes the modal"
    body = await product.h.wait_for(ex, "rolled_back")

    steps = {s["id"]: s for s in body["steps"]}
    assert steps["change-b"]["status"] == "rejected"
    assert steps["change-b"]["approval"]["approved"] is False
    assert steps["change-b"]["approval"]["actor"] == "slack:U0BOB"
    assert steps["change-b"]["approval"]["comment"] == reason
    assert steps["change-a"]["rollback"]["status"] == "succeeded"
    assert lines(log) == ["check", "change-a", "undo-a"]
    assert "rejected by slack:U0BOB" in body["reason"]

    twice = await product.interact(reject_submission(ALICE, metadata, "me too"))
    assert twice.status_code == 200
    assert "already rejected by slack:U0BOB" in twice.json()["errors"]["reason"]
    assert (await product.step(ex, "change-b"))["approval"]["actor"] == "slack:U0BOB"


async def test_a_red_step_cannot_be_approved_by_the_slack_user_who_started_it(
        product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    answer = await product.command(f"run e2e-change log={log} mode=autopilot", user=ALICE)
    ex = started_id(answer)
    await product.h.wait_for(ex, "waiting_approval", step="risky-change")
    assert lines(log) == ["check", "change-a", "change-b"]

    await product.interact(button(ALICE, "approve", ex, "risky-change"))
    told = await product.ephemeral(ALICE)
    assert "<@U0ALICE> started this execution" in told["text"] and "second person" in told["text"]
    assert (await product.step(ex, "risky-change"))["status"] == "waiting_approval"

    await product.interact(button(BOB, "approve", ex, "risky-change"))
    body = await product.h.wait_for(ex, "succeeded")
    assert {s["id"]: s for s in body["steps"]}["risky-change"]["approval"]["actor"] == "slack:U0BOB"
    assert lines(log)[-1] == "risky"


async def test_payloads_the_doors_do_not_handle_are_acknowledged_and_ignored(product: Product,
                                                                              tmp_path: Path) -> None:
    ex = await waiting(product, tmp_path / "run.log")
    others = [
        {"type": "shortcut", "callback_id": "whatever", "user": {"id": ALICE}, "trigger_id": "1.2.3"},
        {"type": "view_closed", "user": {"id": ALICE}, "view": {"callback_id": "reject_reason"}},
        {"type": "view_submission", "user": {"id": ALICE}, "view": {"callback_id": "someone_elses_modal"}},
        {**button(ALICE, "approve", ex, "change-a"), "actions": [{"action_id": "snooze", "value": "x"}]},
        {**button(ALICE, "approve", ex, "change-a"), "actions": []},
        {"type": "block_actions", "user": "not an object", "actions": "nor a list"},
        {"type": 42},
    ]
    for payload in others:
        resp = await product.interact(payload)
        assert resp.status_code == 200 and resp.content == b"", payload

    malformed = await product.interact(button(ALICE, "approve", ex, "change-a", value="not json"))
    assert malformed.status_code == 200
    assert "does not name an execution step" in (await product.ephemeral(ALICE))["text"]
    unknown = await product.interact(button(BOB, "approve", "no-such-execution", "change-a"))
    assert unknown.status_code == 200
    assert "no execution" in (await product.ephemeral(BOB))["text"]
    bad_metadata = await product.interact(reject_submission(ALICE, "{broken", "why"))
    assert "does not name a step" in bad_metadata.json()["errors"]["reason"]

    body = b"payload=%7Bnot+json"
    assert (await product.http.post("/slack/interactions", content=body, headers=signed(body))).status_code == 400
    assert (await product.step(ex, "change-a"))["status"] == "waiting_approval"


# -- /runbook --------------------------------------------------------------------------------------------

async def test_run_starts_an_execution_for_a_responder_in_copilot(product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    answer = await product.command(f"run e2e-change log={log}", user=CAROL)
    assert answer["text"].startswith("Started *End-to-end change with approvals*")
    ex = started_id(answer)
    body = await product.h.wait_for(ex, "waiting_approval", step="change-a")
    assert body["started_by"] == "carol" and body["mode"] == "copilot", "the user Carol's Slack id maps to"
    assert body["params"] == {"log": str(log)}
    assert lines(log) == ["check"], "green ran; the risky steps wait for an approver"

    autopilot = await product.command(f"run e2e-change log={log} mode=autopilot", user=CAROL)
    assert "carol may not start in autopilot" in autopilot["text"] and "role approver" in autopilot["text"]


async def test_run_explains_what_is_missing_or_wrong(product: Product, tmp_path: Path) -> None:
    before = len((await product.http.get("/api/v1/executions", params={"limit": 1000})).json())

    missing = await product.command("run e2e-change", user=CAROL)
    assert "missing or unsafe values" in missing["text"] and "Nothing was started" in missing["text"]
    assert "`log`" in missing["text"] and "/runbook run e2e-change log=…" in missing["text"]

    unsafe = await product.command(f"run params-demo word=--all log={tmp_path / 'x.log'}")
    assert "cannot start yet" in unsafe["text"] and "params-demo" in unsafe["text"]

    for text, expected in [
        ("run", "Which runbook?"),
        ("run e2e-chang log=/tmp/x", "Did you mean `e2e-change`"),
        ("run no-such-runbook", "There is no runbook `no-such-runbook`"),
        ("run e2e-change oops", "`oops` is not `key=value`"),
        ("run e2e-change 1bad=x", "`1bad` is not a parameter name"),
        ("run e2e-change log=a log=b", "`log` is given twice"),
        ("run e2e-change log=a mode=yolo", "`yolo` is not a mode"),
        ('run e2e-change log="unbalanced', "check the quotes"),
    ]:
        answer = await product.command(text)
        assert expected in answer["text"], (text, answer["text"])

    after = len((await product.http.get("/api/v1/executions", params={"limit": 1000})).json())
    assert after == before, "nothing was started by bad input"


async def test_run_values_are_data_as_typed(product: Product, tmp_path: Path) -> None:
    log = tmp_path / "dry.log"
    # Slack escapes & < > in command text and a phone may send smart quotes
    answer = await product.command(f"run params-demo word=\u201ctwo words; rm -rf / &amp; &lt;x&gt;\u201d "
                                   f"log={log} mode=dry_run", user=CAROL)
    ex = started_id(answer)
    body = await product.h.wait_for(ex, "succeeded")
    assert body["params"] == {"word": "two words; rm -rf / & <x>", "log": str(log)}
    assert body["mode"] == "dry_run" and not log.exists()


async def test_status_list_and_usage(product: Product, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    ex = await waiting(product, log)

    status = await product.command(f"status {ex}", user=CAROL)
    text = status["text"]
    assert "*waiting_approval*" in text and ex in text
    for title, state in [("Look before touching", "succeeded"), ("Change A", "waiting_approval"),
                         ("Change B", "pending"), ("Risky change", "pending")]:
        assert re.search(rf"{title} \(\w+\): \*{state}\*", text), (title, text)
    assert "started by alert" in text
    await product.interact(button(ALICE, "approve", ex, "change-a"))
    await product.h.wait_for(ex, "waiting_approval", step="change-b")
    assert "approved by <@U0ALICE>" in (await product.command(f"status {ex}"))["text"]

    assert "There is no execution `nope`" in (await product.command("status nope"))["text"]
    assert "Which execution?" in (await product.command("status"))["text"]

    listed = await product.command("list", user=CAROL)
    assert "`e2e-change`: End-to-end change with approvals" in listed["text"]
    assert "`params-demo`: Manual start with parameters" in listed["text"]

    for text in ("", "help", "frobnicate the thing"):
        answer = await product.command(text)
        assert "/runbook run <runbook-id>" in answer["text"] and "/runbook status <execution-id>" in answer["text"]
    assert "I don't know `frobnicate`" in (await product.command("frobnicate the thing"))["text"]


# -- not configured ---------------------------------------------------------------------------------------

async def test_without_a_signing_secret_the_doors_are_closed(temporal: WorkflowEnvironment, temporal_address: str,
                                                              tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address)
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        body = form({"type": "block_actions"})
        for url in ("/slack/interactions", "/slack/commands"):
            resp = await h.http.post(url, content=body, headers=signed(body))
            assert resp.status_code == 404 and "Slack is not configured" in resp.json()["detail"]


# -- thread replies become notes (Events API) ------------------------------------------------------------

async def event(p: Product, payload: dict[str, Any], **sign_kw: Any) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await p.http.post("/slack/events", content=body,
                             headers={**signed(body, **sign_kw), "Content-Type": "application/json"})


def reply(user: str, thread_ts: str, text: str, **extra: Any) -> dict[str, Any]:
    """An event_callback for a message posted in a thread, as Slack sends it."""
    return {"token": "legacy-verification-token", "team_id": "T0TEST", "api_app_id": "A0TEST",
            "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
            "event": {"type": "message", "channel": CHANNEL, "user": user, "text": text, "thread_ts": thread_ts,
                      "ts": f"{time.time():.6f}", "channel_type": "channel", **extra}}


async def thread_of(p: Product, execution_id: str) -> str:
    """The ts of the execution's thread root, as the notifier stored it."""
    for _ in range(200):
        with p.h.store.session() as s:
            ts = s.exec(select(SlackMessageRow.ts).where(SlackMessageRow.execution_id == execution_id,
                                                         SlackMessageRow.step_id == "")).first()
        if ts:
            return ts
        await asyncio.sleep(0.05)
    raise AssertionError(f"no Slack thread for {execution_id}")


async def test_a_reply_in_the_execution_thread_becomes_a_note_by_the_mapped_user(product: Product,
                                                                                   tmp_path: Path) -> None:
    ex = await waiting(product, tmp_path / "thread.log")
    root = {"ts": await thread_of(product, ex)}
    challenge = await event(product, {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    assert challenge.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}

    said = reply(CAROL, root["ts"], "cache was cold &amp; slow; I also ran `systemctl restart nginx`")
    assert (await event(product, said)).status_code == 200
    assert (await event(product, said)).status_code == 200, "Slack's retry of the same event adds nothing"
    for _ in range(100):
        notes = (await product.http.get(f"/api/v1/executions/{ex}/notes")).json()
        if notes:
            break
        await asyncio.sleep(0.05)
    assert [(n["author"], n["command"]) for n in notes] == [("carol", "systemctl restart nginx")]
    assert notes[0]["text"] == "cache was cold & slow; I also ran `systemctl restart nginx`"

    await event(product, reply(MALLORY, root["ts"], "I ran `rm -rf /`"))
    told = await product.ephemeral(MALLORY)
    assert "not added to the execution's notes" in told["text"] and "not mapped" in told["text"]
    await event(product, reply(DANA, root["ts"], "looks fine"))
    assert "may not add notes" in (await product.ephemeral(DANA))["text"], "a viewer's reply is not a note"
    await event(product, reply(CAROL, root["ts"], "a bot's echo", bot_id="B0BOT"))
    await event(product, reply(CAROL, "1600000000.000100", "another thread entirely"))
    await asyncio.sleep(0.3)
    assert len((await product.http.get(f"/api/v1/executions/{ex}/notes")).json()) == 1
    forged = await event(product, reply(CAROL, root["ts"], "x"), secret="not-the-secret")
    assert forged.status_code == 401


PAUSING = """---
id: slack-pausing
---
# Pausing in Slack

## Steps

1. **Look first**
   ```sh
   echo one
   ```
2. **Then this**
   Breakpoint: yes
   ```sh
   echo two
   ```
"""


async def test_a_breakpoint_posts_resume_and_step_over_buttons_that_act_as_the_slack_user(product: Product) -> None:
    await product.h.load(PAUSING)
    ex = await product.h.start("slack-pausing")
    paused = await posted(product.slack, "chat.postMessage", lambda a: "Paused before" in (a.get("text") or ""))
    ids = [e["action_id"] for b in paused["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["resume", "step_over"]

    await product.interact(button(DANA, "step_over", ex, "then-this"))  # a viewer
    refused = await product.ephemeral(DANA)
    assert "resume executions" in refused["text"] and "Nothing was changed" in refused["text"], refused["text"]
    assert (await product.step(ex, "then-this"))["waiting_for"], "nothing changed"

    await product.interact(button(ALICE, "step_over", ex, "then-this"))
    told = await product.ephemeral(ALICE, lambda a: "stepped over" in a.get("text", ""))
    assert "then-this" in told["text"]
    done = await product.h.wait_for(ex, "succeeded")
    step = next(s for s in done["steps"] if s["id"] == "then-this")
    assert step["status"] == "skipped" and step["output"] == "stepped over at a breakpoint by slack:U0ALICE"
