"""The enter_gate activity: ask a runbook's gate for a slot, starting the gate if it is not running.

A workflow cannot signal-with-start another one, so this activity does it with the worker's client.
It is idempotent (the gate counts a request per execution once), so Temporal may retry it freely.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from runbooks.contract import GATE_WORKFLOW, Activity, GateRequest, Signal, gate_id


class GateActivities:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client, self.task_queue = client, task_queue

    @activity.defn(name=Activity.ENTER_GATE)
    async def enter_gate(self, req: GateRequest) -> None:
        await self.client.start_workflow(
            GATE_WORKFLOW, id=gate_id(req.runbook_id), task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, start_signal=Signal.GATE_ENTER,
            start_signal_args=[req], static_summary=f"concurrency gate of runbook {req.runbook_id}")
