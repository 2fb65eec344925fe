"""The Slack notifier on its own, against the local Slack Web API: retries never duplicate a thread or
a request, threads are made when first needed, values Slack cannot take are explained, Slack's
errors are raised (and missing configuration is not); then the pure message helpers."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from temporalio.exceptions import ApplicationError

from activities import slack_messages as msgs
from activities.slack_notifier import SlackNotifier
from runbooks.contract import ExecutionEvent
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from runbooks.storage.tables import AlertRow, ApprovalRow, ExecutionRow, RunbookVersionRow, StepRow
from support.fake_slack import TOKEN, FakeSlack
from support.harness import make_settings
from support.slack_calls import CHANNEL, blocks_of, buttons, shown



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
