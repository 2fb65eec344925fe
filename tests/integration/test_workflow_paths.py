"""The workflow's decisions on their own: every mode x risk, rejection, a rollback that fails, and the
decision rule held inside the workflow, with fake activities registered under the real names on
Temporal's time-skipping test server (each case takes milliseconds, timers included).

What each fake does is what the real one promises: run_command reports a result (never raises for a
failing command), save_state and record_event keep what they are given.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runbooks.contract import (
    Activity, CommandRequest, CommandResult, Decision, ExecutionEvent, ExecutionInput, ExecutionState, PlannedStep,
    RenderedCommand, RenderRequest, StepStatus, StepTemplates,
)
from runbooks.model import EscalationLevel, Mode, Risk
from runbooks.rendering.planning import render_step
from workflows.runbook_execution import RunbookExecution

STARTER = "alice"


@dataclass
class Fakes:
    """The activities, by name, and what they saw."""

    commands: list[str] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # scripts that exit 1
    states: dict[str, ExecutionState] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def activities(self) -> list:
        @activity.defn(name=Activity.RUN_COMMAND)
        async def run_command(req: CommandRequest) -> CommandResult:
            self.commands.append(req.command.script)
            return CommandResult(exit_code=1 if req.command.script in self.failing else 0, output="")

        @activity.defn(name=Activity.SAVE_STATE)
        async def save_state(state: ExecutionState) -> None:
            self.states[state.execution_id] = state

        @activity.defn(name=Activity.RECORD_EVENT)
        async def record_event(event: ExecutionEvent) -> None:
            self.events[event.execution_id].append(event.kind.value)

        @activity.defn(name=Activity.ESCALATE)
        async def escalate(event: ExecutionEvent) -> None:
            self.events[event.execution_id].append(f"escalate:{event.target}")

        @activity.defn(name=Activity.NOTIFY)
        async def notify(event: ExecutionEvent) -> None:
            pass

        @activity.defn(name=Activity.RENDER_STEP)
        async def render(req: RenderRequest) -> PlannedStep:
            return render_step(req.step, req.context)

        return [run_command, save_state, record_event, escalate, notify, render]


@dataclass
class Engine:
    env: WorkflowEnvironment
    queue: str
    fakes: Fakes

    async def start(self, *steps: PlannedStep, mode: Mode = Mode.copilot,
                    escalation: list[EscalationLevel] | None = None) -> WorkflowHandle:
        execution_id = f"wf-{uuid.uuid4().hex[:8]}"
        inp = ExecutionInput(execution_id=execution_id, runbook_id="rb", runbook_version=1, runbook_title="RB",
                             mode=mode, steps=list(steps), started_by=STARTER,
                             escalation=escalation or [EscalationLevel(after_seconds=3600, action="reject")])
        return await self.env.client.start_workflow(RunbookExecution.run, inp, id=execution_id, task_queue=self.queue)

    async def outcome(self, handle: WorkflowHandle) -> ExecutionState:
        try:
            await handle.result()
        except WorkflowFailureError:
            pass
        return self.fakes.states[handle.id]


def step(sid: str, risk: Risk, command: str | None = "true", rollback: str | None = None,
         needs: list[str] | None = None, position: int = 1) -> PlannedStep:
    return PlannedStep(id=sid, title=sid.title(), position=position, risk=risk, risk_reason="test",
                       command=RenderedCommand(script=command, argv=command.split()) if command else None,
                       rollback=RenderedCommand(script=rollback) if rollback else None, manual=command is None,
                       needs=needs or [], templates=StepTemplates(command=command, rollback=rollback))


@pytest.fixture(scope="module")
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=pydantic_data_converter)
    yield env
    await env.shutdown()


@pytest.fixture
async def engine(skipping: WorkflowEnvironment) -> AsyncIterator[Engine]:
    fakes = Fakes()
    queue = f"paths-{uuid.uuid4().hex[:6]}"
    async with Worker(skipping.client, task_queue=queue, workflows=[RunbookExecution],
                      activities=fakes.activities()):
        yield Engine(skipping, queue, fakes)


async def waiting(handle: WorkflowHandle, step_id: str) -> None:
    for _ in range(400):
        state = await handle.query(RunbookExecution.progress, result_type=ExecutionState)
        if (st := state.step(step_id)) is not None and st.status is StepStatus.waiting_approval:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{step_id} never waited")


async def decide(handle: WorkflowHandle, step_id: str, approved: bool = True, actor: str = "bob",
                 **values: str) -> None:
    signal = RunbookExecution.approve if approved else RunbookExecution.reject
    await handle.signal(signal, Decision(step_id=step_id, approved=approved, actor=actor, values=values))


# mode x risk: (runs by itself, waits for a person, final status of the step)
TABLE = {
    (Mode.dry_run, Risk.green): ("reported", StepStatus.dry_run),
    (Mode.dry_run, Risk.yellow): ("reported", StepStatus.dry_run),
    (Mode.dry_run, Risk.red): ("reported", StepStatus.dry_run),
    (Mode.copilot, Risk.green): ("runs", StepStatus.succeeded),
    (Mode.copilot, Risk.yellow): ("asks", StepStatus.succeeded),
    (Mode.copilot, Risk.red): ("asks", StepStatus.succeeded),
    (Mode.autopilot, Risk.green): ("runs", StepStatus.succeeded),
    (Mode.autopilot, Risk.yellow): ("runs", StepStatus.succeeded),
    (Mode.autopilot, Risk.red): ("asks", StepStatus.succeeded),
}


@pytest.mark.parametrize("mode, risk", list(TABLE), ids=[f"{m.value}-{r.value}" for m, r in TABLE])
async def test_each_mode_runs_asks_or_reports_each_risk(engine: Engine, mode: Mode, risk: Risk) -> None:
    behaviour, final = TABLE[(mode, risk)]
    handle = await engine.start(step("only", risk, "echo only"), mode=mode)
    if behaviour == "asks":
        await waiting(handle, "only")
        assert engine.fakes.commands == [], "nothing runs before the approval"
        await decide(handle, "only")
    state = await engine.outcome(handle)
    assert state.step("only").status is final
    assert engine.fakes.commands == ([] if behaviour == "reported" else ["echo only"])
    assert (state.step("only").decision is not None) == (behaviour == "asks")


async def test_a_rejection_rolls_back_what_was_done_newest_first(engine: Engine) -> None:
    handle = await engine.start(step("a", Risk.yellow, "do a", "undo a", position=1),
                                step("b", Risk.yellow, "do b", "undo b", position=2),
                                step("c", Risk.red, "do c", position=3))
    for sid in ("a", "b"):
        await waiting(handle, sid)
        await decide(handle, sid)
    await waiting(handle, "c")
    await decide(handle, "c", approved=False, actor="carol")
    state = await engine.outcome(handle)
    assert engine.fakes.commands == ["do a", "do b", "undo b", "undo a"]
    assert state.status.value == "rolled_back" and "rejected by carol" in state.reason
    assert state.step("c").status is StepStatus.rejected


async def test_a_failed_step_rolls_back_and_a_failed_rollback_is_reported(engine: Engine) -> None:
    engine.fakes.failing = {"do b", "undo a"}
    handle = await engine.start(step("a", Risk.yellow, "do a", "undo a", position=1),
                                step("b", Risk.yellow, "do b", "undo b", position=2),
                                step("c", Risk.green, "never", position=3), mode=Mode.autopilot)
    state = await engine.outcome(handle)
    assert engine.fakes.commands == ["do a", "do b", "undo b", "undo a"], "the half-done step is undone too"
    assert state.status.value == "failed" and "ROLLBACK FAILED" in state.reason
    assert state.step("a").rollback_status is StepStatus.failed
    assert state.step("b").rollback_status is StepStatus.succeeded
    assert state.step("c").status is StepStatus.skipped


async def test_nobody_answering_escalates_then_the_timer_rejects(engine: Engine) -> None:
    handle = await engine.start(step("risky", Risk.red, "do it"), escalation=[
        EscalationLevel(after_seconds=300, target="primary"), EscalationLevel(after_seconds=900, action="reject")])
    state = await engine.outcome(handle)
    assert engine.fakes.commands == []
    assert state.step("risky").decision.actor == "escalation-timer"
    assert "escalate:primary" in engine.fakes.events[handle.id]


async def test_the_starter_cannot_approve_a_red_step_even_by_signalling_temporal_directly(engine: Engine) -> None:
    handle = await engine.start(step("risky", Risk.red, "do it"))
    await waiting(handle, "risky")
    await decide(handle, "risky", actor=STARTER)  # the doors refuse this; the workflow ignores it
    await decide(handle, "risky", actor="bob")
    state = await engine.outcome(handle)
    assert state.step("risky").decision.actor == "bob"
    assert engine.fakes.commands == ["do it"]


async def test_an_approval_without_the_values_a_step_needs_is_ignored_until_they_come(engine: Engine) -> None:
    needy = step("note", Risk.green, None, needs=["labels.pod"]).model_copy(update={
        "manual": False, "templates": StepTemplates(command="echo {{ labels.pod }}")})
    handle = await engine.start(needy)
    await waiting(handle, "note")
    await decide(handle, "note")  # no values: ignored
    await decide(handle, "note", **{"labels.pod": "web-7"})
    state = await engine.outcome(handle)
    assert engine.fakes.commands == ["echo web-7"]
    assert state.step("note").decision.values == {"labels.pod": "web-7"}


async def test_a_second_decision_changes_nothing(engine: Engine) -> None:
    handle = await engine.start(step("a", Risk.yellow, "do a"))
    await waiting(handle, "a")
    await decide(handle, "a", actor="bob")
    await decide(handle, "a", approved=False, actor="carol")
    state = await engine.outcome(handle)
    assert state.status.value == "succeeded" and state.step("a").decision.actor == "bob"
