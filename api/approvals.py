"""Deciding a waiting step, the same way from every door (REST, Slack, web page).

Checked against the database mirror, which the workflow writes before it starts waiting; the
signal carries who decided, and the workflow stamps when. The workflow itself ignores a second
decision, so a double click changes nothing.
"""

from __future__ import annotations

import asyncio

from temporalio.service import RPCError

from api.deps import Services
from runbooks.execution import Decision, ExecutionStatus, StepStatus


class DecisionRefused(Exception):
    def __init__(self, status: int, reason: str):
        self.status, self.reason = status, reason
        super().__init__(reason)


async def decide(svc: Services, execution_id: str, step_id: str, *, approved: bool, actor: str,
                 comment: str = "", values: dict[str, str] | None = None) -> Decision:
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise DecisionRefused(404, f"no execution {execution_id!r}")
    execution, steps, _, _ = found
    if ExecutionStatus(execution.status).terminal:
        raise DecisionRefused(409, f"execution {execution_id} has already ended ({execution.status})")
    step = next((s for s in steps if s.step_id == step_id), None)
    if step is None:
        raise DecisionRefused(404, f"execution {execution_id} has no step {step_id!r}")
    if step.status != StepStatus.waiting_approval.value:
        raise DecisionRefused(409, f"step {step_id!r} is not waiting for approval (it is {step.status})")
    if approved and step.risk == "red" and actor == execution.started_by:
        raise DecisionRefused(403, f"{actor} started this execution and cannot also approve its red step "
                                   f"{step.title!r}: a second person must")
    values = values or {}
    missing = [n for n in step.needs if not values.get(n)]
    if approved and missing:
        raise DecisionRefused(422, f"step {step_id!r} needs values for {', '.join(missing)}: "
                                   'pass them as {"values": {"labels.pod": "..."}}')
    decision = Decision(step_id=step_id, approved=approved, actor=actor, comment=comment,
                        values=values if approved else {})
    try:
        await svc.client.get_workflow_handle(execution_id).signal("approve" if approved else "reject", decision)
    except RPCError as exc:
        raise DecisionRefused(503, f"cannot reach the execution in Temporal: {exc.message}") from None
    return decision
