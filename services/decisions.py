"""Deciding a waiting step, the same way from every door (REST, Slack, web pages).

Checked with the one rule (`runbooks.policy.decision_refusal`) against the database mirror, which
the workflow writes before it starts waiting; the signal carries who decided, and the workflow
stamps when and holds the same rule again, so a double click changes nothing.
"""

from __future__ import annotations

import asyncio

from temporalio.service import RPCError

from runbooks.contract import Decision, ExecutionStatus, Signal
from runbooks.model import Risk
from runbooks.policy import RefusalKind, StepFacts, decision_refusal
from runbooks.storage.tables import StepRow
from services.context import Services
from services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable

REFUSALS: dict[RefusalKind, type[ServiceError]] = {
    RefusalKind.not_found: NotFound, RefusalKind.conflict: Conflict, RefusalKind.forbidden: Forbidden,
    RefusalKind.invalid: Invalid,
}


async def decidable_step(svc: Services, execution_id: str, step_id: str, *, approved: bool, actor: str,
                         values: dict[str, str] | None = None) -> StepRow:
    """The step, if `actor` may approve (or reject) it now; else the refusal, raised as a ServiceError."""
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r}")
    execution, steps, _, _ = found
    step = next((s for s in steps if s.step_id == step_id), None)
    facts = None if step is None else StepFacts(step_id=step.step_id, title=step.title, status=step.status,
                                                risk=Risk(step.risk), needs=step.needs)
    ended = execution.status if ExecutionStatus(execution.status).terminal else None
    refusal = decision_refusal(execution_id, facts, requested_id=step_id, approved=approved, actor=actor,
                               started_by=execution.started_by, values=values, ended=ended)
    if refusal is not None:
        raise REFUSALS[refusal.kind](refusal.reason)
    assert step is not None
    return step


async def decide(svc: Services, execution_id: str, step_id: str, *, approved: bool, actor: str,
                 comment: str = "", values: dict[str, str] | None = None) -> Decision:
    """Approve or reject a waiting step on behalf of `actor` (recorded with the decision)."""
    values = values or {}
    await decidable_step(svc, execution_id, step_id, approved=approved, actor=actor, values=values)
    decision = Decision(step_id=step_id, approved=approved, actor=actor, comment=comment,
                        values=values if approved else {})
    try:
        await svc.client.get_workflow_handle(execution_id).signal(
            Signal.APPROVE if approved else Signal.REJECT, decision)
    except RPCError as exc:
        raise Unavailable(f"cannot reach the execution in Temporal: {exc.message}") from None
    return decision
