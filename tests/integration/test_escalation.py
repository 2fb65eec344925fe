"""Escalation timers under Temporal's time-skipping test server: an hour of waiting in moments."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from runbooks.storage.migrate import create_schema

from runbooks.contract import Decision
from runbooks.settings import Settings
from runbooks.storage.engine import make_engine
from runbooks.storage.store import Store
from support.inputs import ESCALATING, execution_input
from workers.main import build_worker
from workflows.runbook_execution import RunbookExecution

@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    server = Path(sys.executable).parent / "temporal-test-server"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server), data_converter=pydantic_data_converter)
    yield env
    await env.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine)
    return Store(engine)


async def test_nobody_answers_for_an_hour_escalates_twice_then_rejects_and_rolls_back(
        time_skipping: WorkflowEnvironment, store: Store, tmp_path: Path) -> None:
    log = tmp_path / "log"
    inp = execution_input(ESCALATING, log, started_by="test")
    settings = Settings(task_queue=f"esc-{uuid.uuid4().hex[:6]}")
    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        async with build_worker(time_skipping.client, settings, store, pool):
            handle = await time_skipping.client.start_workflow(
                RunbookExecution.run, inp, id=inp.execution_id, task_queue=settings.task_queue)
            with pytest.raises(WorkflowFailureError):
                await handle.result()
    assert time.monotonic() - started < 30, "an hour of timers must take seconds"

    ex, steps, approvals, events = store.get_execution(inp.execution_id)
    assert ex.status == "rolled_back"
    assert log.read_text().split() == ["mark", "unmark"]
    escalations = [e for e in events if e.kind == "escalation"]
    assert [e.target for e in escalations] == ["primary", "secondary"]
    assert approvals[0].actor == "escalation-timer" and not approvals[0].approved
    dangerous = next(s for s in steps if s.step_id == "dangerous")
    assert dangerous.status == "rejected" and dangerous.started_at is None
    assert approvals[0].decided_at - ex.started_at >= timedelta(minutes=60)


async def test_an_answer_after_the_first_escalation_stops_the_chain(
        time_skipping: WorkflowEnvironment, store: Store, tmp_path: Path) -> None:
    log = tmp_path / "log"
    inp = execution_input(ESCALATING, log, started_by="test")
    settings = Settings(task_queue=f"esc-{uuid.uuid4().hex[:6]}")
    with ThreadPoolExecutor(32) as pool:
        async with build_worker(time_skipping.client, settings, store, pool):
            handle = await time_skipping.client.start_workflow(
                RunbookExecution.run, inp, id=inp.execution_id, task_queue=settings.task_queue)
            await time_skipping.sleep(timedelta(minutes=7))
            await handle.signal(RunbookExecution.approve, Decision(step_id="dangerous", approved=True, actor="erin"))
            state = await handle.result()
    assert state.status.value == "succeeded"
    assert log.read_text().split() == ["mark", "dangerous"]
    _, _, approvals, events = store.get_execution(inp.execution_id)
    assert [e.target for e in events if e.kind == "escalation"] == ["primary"]
    assert approvals[0].actor == "erin" and approvals[0].approved
