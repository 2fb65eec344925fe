"""RunbookGate: `concurrency: K` and `max_errors: E` of one runbook, as a durable semaphore.

Every execution of a runbook with `concurrency:` asks its runbook's gate (one workflow per runbook,
id `gate:<runbook>`, started by the first request) for a slot and waits; the gate lets at most K
run at once, the rest in arrival order, and nothing is lost: the queue is this workflow's state.
Once E executions have failed, it starts no more and tells each waiting one why. A gate with nothing
queued or running for IDLE ends; the next storm starts a fresh one (and a fresh error count).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from runbooks.contract import GATE_WORKFLOW, GateAnswer, GateRelease, GateRequest, Signal

IDLE = timedelta(minutes=5)


class GateState(BaseModel):
    """What the gate carries across continue-as-new, and what its query shows."""

    runbook_id: str = ""
    concurrency: int = 1
    max_errors: int | None = None
    queue: list[GateRequest] = Field(default_factory=list)
    running: list[str] = Field(default_factory=list)
    failures: int = 0
    peak: int = 0  # the most executions that ran at once


@workflow.defn(name=GATE_WORKFLOW)
class RunbookGate:
    def __init__(self) -> None:
        self._s = GateState()

    @workflow.signal(name=Signal.GATE_ENTER)
    def enter(self, req: GateRequest) -> None:
        s = self._s
        s.runbook_id, s.concurrency, s.max_errors = req.runbook_id, req.concurrency, req.max_errors  # newest rules
        if req.execution_id not in s.running and all(q.execution_id != req.execution_id for q in s.queue):
            s.queue.append(req)  # a retried request is one request

    @workflow.signal(name=Signal.GATE_LEAVE)
    def leave(self, rel: GateRelease) -> None:
        s = self._s
        if rel.execution_id in s.running:
            s.running.remove(rel.execution_id)
            s.failures += rel.failed
        s.queue = [q for q in s.queue if q.execution_id != rel.execution_id]  # cancelled while it waited

    @workflow.query(name="gate")
    def state(self) -> GateState:
        return self._s

    def _stopped(self) -> bool:
        return self._s.max_errors is not None and self._s.failures >= self._s.max_errors

    def _actionable(self) -> bool:
        s = self._s
        return (not s.queue and not s.running) or bool(s.queue) and (self._stopped() or len(s.running) < s.concurrency)

    @workflow.run
    async def run(self, carried: GateState | None = None) -> GateState:
        if carried is not None:
            self._s = carried
        while True:
            s = self._s
            if not s.queue and not s.running:
                try:
                    await workflow.wait_condition(lambda: bool(self._s.queue), timeout=IDLE,
                                                  timeout_summary="nothing queued or running: the gate ends")
                except asyncio.TimeoutError:
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return self._s
            await workflow.wait_condition(self._actionable)
            while s.queue and (self._stopped() or len(s.running) < s.concurrency):
                req = s.queue.pop(0)
                answer = (GateAnswer(granted=False, reason=f"not started: {s.failures} executions of this runbook "
                                                           f"failed (max_errors: {s.max_errors})")
                          if self._stopped() else GateAnswer(granted=True))
                if answer.granted:
                    s.running.append(req.execution_id)
                    s.peak = max(s.peak, len(s.running))
                try:
                    await workflow.get_external_workflow_handle(req.execution_id).signal(Signal.GATE_ANSWER, answer)
                except FailureError:  # it ended while it waited (cancelled): its slot is free again
                    if req.execution_id in s.running:
                        s.running.remove(req.execution_id)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._s)
