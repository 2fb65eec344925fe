"""The live feed behind the cockpit's pages, and what the pages compute from the rows: an open
page hears of every write about an execution, once; the next escalation of a waiting step."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from runbooks.model import DEFAULT_ESCALATION, EscalationAction, EscalationLevel
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from runbooks.storage.tables import ExecutionRow, StepRow
from services.cockpit import next_escalation
from services.live import ChangeFeed


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine, auto_migrate=True)
    return Store(engine)


def _execution(execution_id: str) -> ExecutionRow:
    return ExecutionRow(id=execution_id, runbook_id="rb", runbook_version=1, mode="copilot", status="running",
                        started_at=datetime.now(timezone.utc))


async def _next(queue: asyncio.Queue[set[str]], timeout: float = 2.0) -> set[str]:
    return await asyncio.wait_for(queue.get(), timeout)


async def test_an_open_page_hears_of_each_write_once(store: Store) -> None:
    feed = ChangeFeed(store, interval=0.05)
    async with feed.subscribe() as changes:
        await asyncio.sleep(0.1)
        store.record_execution(_execution("ex-1"))
        assert await _next(changes) == {"ex-1"}
        with pytest.raises(asyncio.TimeoutError):  # nothing new: nothing said, though the row is re-read
            await _next(changes, timeout=0.4)
        with store.session() as s:
            s.add(StepRow(execution_id="ex-1", step_id="s1", position=1, title="look", risk="green", status="running"))
            s.commit()
        await asyncio.sleep(0.01)  # a later stamp than the first write
        assert store.save_partial_output("ex-1", "s1", "first line\npassword=hunter2\n")
        assert await _next(changes) == {"ex-1"}
    assert "hunter2" not in store.get_execution("ex-1")[1][0].output  # type: ignore[index]
    assert not store.save_partial_output("ex-1", "no-such-step", "x"), "only a running step takes output"


async def test_the_poller_runs_only_while_someone_listens(store: Store) -> None:
    feed = ChangeFeed(store, interval=0.05)
    async with feed.subscribe():
        task = feed._task
        assert task is not None and not task.done()
    await asyncio.sleep(0.2)
    assert task.done()


def test_the_next_escalation_counts_from_when_the_step_began_waiting() -> None:
    since = datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)
    step = StepRow(execution_id="e", step_id="s", position=1, title="t", risk="yellow", status="waiting_approval",
                   waiting_since=since)
    first = next_escalation(step, DEFAULT_ESCALATION, done=0)
    assert first is not None and first.due == since + timedelta(minutes=5) and first.words == "escalates to on-call"
    last = next_escalation(step, DEFAULT_ESCALATION, done=2)
    assert last is not None and last.words == "rejected by the timer" and last.due == since + timedelta(hours=1)
    assert next_escalation(step, DEFAULT_ESCALATION, done=3) is None, "the chain has run out"
    chain = [EscalationLevel(after_seconds=60, action=EscalationAction.notify, target="dba")]
    assert next_escalation(step, chain, 0).words == "escalates to dba"  # type: ignore[union-attr]
    step.status = "succeeded"
    assert next_escalation(step, chain, 0) is None, "only a waiting step escalates"


async def test_insight_facts_are_read_again_only_when_the_runs_changed(store: Store, monkeypatch) -> None:
    from types import SimpleNamespace

    from runbooks.authoring.reader import parse_text
    from services.insights import runbook_insights

    text = "# Rb\n\n## Steps\n\n1. **Look**\n   ```sh\n   uptime\n   ```\n"
    store.save_runbook(parse_text(text, default_id="rb"), text, author="t")
    reads = []
    real = store.insight_facts
    monkeypatch.setattr(store, "insight_facts", lambda rid: reads.append(rid) or real(rid))
    svc = SimpleNamespace(store=store)
    assert (await runbook_insights(svc, "rb")).executions == 0  # type: ignore[arg-type]
    await runbook_insights(svc, "rb")  # type: ignore[arg-type]
    assert reads == ["rb"], "nothing changed: the facts are reused"
    store.record_execution(ExecutionRow(id="ex-9", runbook_id="rb", runbook_version=1, mode="copilot",
                                        status="succeeded", started_at=datetime.now(timezone.utc)))
    assert (await runbook_insights(svc, "rb")).executions == 1  # type: ignore[arg-type]
    assert reads == ["rb", "rb"]
