"""The application database, on SQLite and on PostgreSQL: same behaviour on both."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from runbooks.authoring.reader import parse_markdown
from runbooks.contract import Decision, ExecutionState, ExecutionStatus, StepState, StepStatus
from runbooks.model import Mode, Risk
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from runbooks.storage.tables import ExecutionRow, utcnow
from support.alerts import decide, fire, lines
from support.harness import make_settings, running_product

RUNBOOK = """---
id: versioned
---
# Versioned

## Steps

1. **Look**
   ```sh
   uptime
   ```
"""


def make_store(url: str) -> Store:
    engine = make_engine(url)
    create_schema(engine)
    return Store(engine)


def test_runbook_versions_are_immutable_and_only_real_edits_make_new_ones(database_url: str) -> None:
    store = make_store(database_url)
    v1 = parse_markdown(RUNBOOK)
    assert store.save_runbook(v1, RUNBOOK) == (1, True)
    assert store.save_runbook(v1, RUNBOOK) == (1, False), "reloading unchanged text is not a new version"
    edited = RUNBOOK.replace("uptime", "uptime -p")
    assert store.save_runbook(parse_markdown(edited), edited) == (2, True)

    first, _ = store.get_runbook("versioned", version=1)
    latest, version = store.get_runbook("versioned")
    assert first.steps[0].command == "uptime"
    assert (latest.steps[0].command, version) == ("uptime -p", 2)
    assert [rb.id for rb, _ in store.live_runbooks()] == ["versioned"]


def test_an_execution_is_created_once_and_its_steps_and_approvals_are_mirrored(database_url: str) -> None:
    store = make_store(database_url)
    row = dict(id="ex-1", runbook_id="versioned", runbook_version=1, mode="copilot", status="running",
               started_at=utcnow())
    assert store.record_execution(ExecutionRow(**row, alertname=None)) == "running"
    store.save_state(ExecutionState(execution_id="ex-1", runbook_id="versioned", runbook_version=1,
                                    mode=Mode.copilot, status=ExecutionStatus.waiting_approval, steps=[]))
    assert store.record_execution(ExecutionRow(**row, alertname="Disk")) == "waiting_approval", \
        "a second write finds the workflow's row and keeps its status"
    assert store.get_execution("ex-1")[0].alertname == "Disk", "and completes what it did not know"

    step = StepState(id="look", title="Look", position=1, risk=Risk.yellow, risk_reason="test", target="local",
                     command="uptime", status=StepStatus.waiting_approval)
    state = ExecutionState(execution_id="ex-1", runbook_id="versioned", runbook_version=1, mode=Mode.copilot,
                           status=ExecutionStatus.waiting_approval, steps=[step], started_at=utcnow())
    store.save_state(state)
    step.decision = Decision(step_id="look", approved=True, actor="alice", decided_at=utcnow())
    step.status, step.exit_code, step.output = StepStatus.succeeded, 0, "up 3 days"
    state.status = ExecutionStatus.succeeded
    store.save_state(state)
    store.save_state(state)  # saved again (a replayed activity): still one approval

    ex, steps, approvals, _ = store.get_execution("ex-1")
    assert ex.status == "succeeded"
    assert [(s.step_id, s.status, s.exit_code, s.output) for s in steps] == [("look", "succeeded", 0, "up 3 days")]
    assert [(a.actor, a.approved) for a in approvals] == [("alice", True)]
    assert store.open_executions_for_alert("nope") == []


async def test_the_whole_flow_runs_on_this_database(temporal: WorkflowEnvironment, temporal_address: str,
                                                    database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address, database_url=database_url)
    log = tmp_path / "run.log"
    async with running_product(temporal.client, settings, tmp_path) as h:
        ex = await fire(h, "E2EChange", log)
        await decide(h, ex, "change-a", "approve")
        await decide(h, ex, "change-b", "approve")
        await decide(h, ex, "risky-change", "reject", actor="zoe")
        body = await h.wait_for(ex, "rolled_back")
    assert lines(log) == ["check", "change-a", "change-b", "undo-b", "undo-a"]
    assert {s["id"]: (s["approval"] or {}).get("actor") for s in body["steps"]}["risky-change"] == "zoe"


def test_replicas_saving_the_same_runbook_at_once_agree_on_one_version(database_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = make_store(database_url)
    runbook = parse_markdown(RUNBOOK)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: store.save_runbook(runbook, RUNBOOK), range(8)))
    assert {version for version, _ in results} == {1}
    assert sum(created for _, created in results) == 1


def test_insight_medians_are_the_same_on_either_database_and_leave_drills_and_dry_runs_out(database_url: str) -> None:
    """PostgreSQL computes the medians itself (percentile_cont); SQLite in Python: the same figures."""
    store = make_store(database_url)
    start = utcnow().replace(microsecond=0)
    rows = [ExecutionRow(id=f"m-{n}", runbook_id="medians", runbook_version=1, mode="copilot", status="succeeded",
                         started_at=start, resolved_at=start + timedelta(seconds=s), updated_at=start)
            for n, s in enumerate((60, 120, 600, 30))]
    rows += [ExecutionRow(id="m-drill", runbook_id="medians", runbook_version=1, mode="copilot", status="succeeded",
                          started_at=start, resolved_at=start + timedelta(seconds=9999), drill=True),
             ExecutionRow(id="m-dry", runbook_id="medians", runbook_version=1, mode="dry_run", status="succeeded",
                          started_at=start, resolved_at=start + timedelta(seconds=9999))]
    with store.session() as s:
        s.add_all(rows)
        s.commit()
    facts = store.insight_facts("medians")
    assert facts.resolve_median == pytest.approx(90.0, abs=0.01), "(60 + 120) / 2: the middle of 30, 60, 120, 600"
    assert facts.by_status == {"succeeded": 4} and facts.approve_median is None
