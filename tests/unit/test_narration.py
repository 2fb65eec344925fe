"""Grounded LLM phrasing (runbooks/narration.py) against the local Messages API server: a sentence
stays only if it cites facts that exist and every specific in it is in the facts it cites."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from runbooks.narration import ground, narrate, ungrounded
from runbooks.settings import LlmSettings
from support.fake_anthropic import FakeAnthropic

FACTS = ["2026-12-06 10:00:01 UTC alert firing: E2EChange firing (instance=web-1, severity=critical)",
         "2026-12-06 10:00:02 UTC started: started (copilot) by alert",
         "2026-12-06 10:03:40 UTC decided: 'Risky change' rejected by carol: not during the sale",
         "2026-12-06 10:03:41 UTC rolled back: `echo undo-a` succeeded"]


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ANTHROPIC_"):
            monkeypatch.delenv(name)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


def test_a_specific_the_cited_facts_do_not_hold_is_ungrounded() -> None:
    assert ungrounded("carol rejected the risky change at 10:03:40", [FACTS[2]]) is None
    assert ungrounded("E2EChange fired on web-1", [FACTS[0]]) is None
    assert ungrounded("E2EChange fired on web-2", [FACTS[0]]) == "web-2"
    assert ungrounded("it took 15 minutes", [FACTS[0]]) == "15"
    assert ungrounded("carol ran `rm -rf /var`", [FACTS[2]]) == "`rm -rf /var`"


def test_only_cited_and_grounded_sentences_are_kept() -> None:
    kept, dropped = ground([
        {"text": "E2EChange fired on web-1.", "cites": [1]},
        {"text": "carol rejected the risky change.", "cites": [3]},
        {"text": "carol rejected it because of the sale.", "cites": [9]},  # no such fact
        {"text": "The root cause was a bad deploy of v2.3.", "cites": [1]},  # not in the fact
        {"text": "It was rolled back.", "cites": []},  # cites nothing
        "not an object",
    ], FACTS)
    assert [s.text for s in kept] == ["E2EChange fired on web-1.", "carol rejected the risky change."]
    assert dropped == 4


def test_narrate_asks_with_numbered_facts_and_keeps_what_is_grounded(fake: FakeAnthropic) -> None:
    fake.reply_tool_use({"sentences": [
        {"text": "E2EChange fired on web-1 at 10:00:01 and the runbook started in copilot.", "cites": [1, 2]},
        {"text": "carol rejected 'Risky change' and the change was undone with `echo undo-a`.", "cites": [3, 4]},
        {"text": "This happened because disk usage hit 99%.", "cites": [1]},
    ]}, name="record_sentences")
    llm = LlmSettings(api_key=fake.api_key, model="claude-test", base_url=fake.base_url, timeout=5)
    result = narrate("Summarise.", FACTS, llm)
    assert result.used_llm and result.error is None and result.dropped == 1
    assert [s.cites for s in result.sentences] == [[1, 2], [3, 4]]
    body = fake.requests[-1].body
    assert body["tool_choice"] == {"type": "tool", "name": "record_sentences"} and body["model"] == "claude-test"
    assert "[3] 2026-12-06 10:03:40 UTC decided" in body["messages"][0]["content"]


def test_without_a_key_or_with_a_failing_api_nothing_is_narrated(fake: FakeAnthropic) -> None:
    assert narrate("Summarise.", FACTS, LlmSettings()).error == "no API key configured"
    assert fake.requests == [], "no key: nothing reaches the network"
    fake.reply_error(529, "overloaded_error", "Overloaded")
    llm = LlmSettings(api_key=fake.api_key, base_url=fake.base_url, timeout=5)
    failed = narrate("Summarise.", FACTS, llm)
    assert not failed.used_llm and failed.sentences == [] and "529" in (failed.error or "")
