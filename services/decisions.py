"""Deciding a waiting step, the same way from every door (REST, Slack, web pages).

The actor is the authenticated principal. Its roles and team must allow the decision (a red step
needs `approver`, in the runbook's team); then the one rule (`runbooks.policy.decision_refusal`) is
checked against the database mirror, which the workflow writes before it starts waiting: a red
step is approved neither by who started the execution nor by who wrote the runbook version. A
runbook with `approvals: N` needs N distinct approvers on a red step: each approval is recorded,
and the workflow is signalled at the N-th, with all of them. The workflow stamps the time and holds
the rule again, so a double click changes nothing. Every decision is in the audit trail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio.service import RPCError

from runbooks.access import DEFAULT_TEAM, Permission, Principal
from runbooks.contract import Decision, ExecutionStatus, Signal
from runbooks.model import Risk, Runbook
from runbooks.policy import RefusalKind, StepFacts, decision_refusal
from runbooks.storage.tables import ExecutionRow, StepRow
from services.context import Services
from services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unavailable

REFUSALS: dict[RefusalKind, type[ServiceError]] = {
    RefusalKind.not_found: NotFound, RefusalKind.conflict: Conflict, RefusalKind.forbidden: Forbidden,
    RefusalKind.invalid: Invalid,
}


@dataclass
class Outcome:
    decision: Decision
    approvers: list[str] = field(default_factory=list)
    needed: int = 1  # distinct approvers this step needs

    @property
    def remaining(self) -> int:
        return max(0, self.needed - len(self.approvers)) if self.decision.approved else 0


@dataclass(frozen=True)
class Decidable:
    execution: ExecutionRow
    step: StepRow
    runbook: Runbook | None
    author: str | None


def refusal_of(who: Principal, execution: ExecutionRow, step: StepRow | None, *, step_id: str, approved: bool,
               team: str, author: str | None, values: dict[str, str] | None = None) -> ServiceError | None:
    """Why `who` may not approve (or reject) this step now, as the error to raise; None when they may.
    The doors ask it before offering a button, and `decidable_step` before acting."""
    red = step is not None and Risk(step.risk) is Risk.red
    permission = Permission.decide_red if approved and red else Permission.decide
    what = f"{'approve' if approved else 'reject'} {'red ' if permission is Permission.decide_red else ''}steps"
    if (refused := who.refusal(permission, team, what)) is not None:
        return Forbidden(refused)
    facts = None if step is None else StepFacts(step_id=step.step_id, title=step.title, status=step.status,
                                                risk=Risk(step.risk), needs=step.needs)
    ended = execution.status if ExecutionStatus(execution.status).terminal else None
    refusal = decision_refusal(execution.id, facts, requested_id=step_id, approved=approved, actor=who.name,
                               started_by=execution.started_by, values=values, ended=ended, author=author)
    return REFUSALS[refusal.kind](refusal.reason) if refusal is not None else None


async def decidable_step(svc: Services, execution_id: str, step_id: str, *, approved: bool, who: Principal,
                         values: dict[str, str] | None = None) -> Decidable:
    """The step, if `who` may approve (or reject) it now; else the refusal, raised as a ServiceError."""
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r}")
    execution, steps, approvals, _ = found
    version = await asyncio.to_thread(svc.store.version_row, execution.runbook_id, execution.runbook_version)
    runbook = Runbook.model_validate(version.model) if version else None
    author = version.author if version else None
    step = next((s for s in steps if s.step_id == step_id), None)
    refused = refusal_of(who, execution, step, step_id=step_id, approved=approved,
                         team=runbook.owning_team if runbook else DEFAULT_TEAM, author=author, values=values)
    if refused is not None:
        done = next((a for a in approvals if a.step_id == step_id), None)
        if isinstance(refused, Conflict) and done is not None and step is not None:  # a stale page, a double click
            raise Conflict(f"step {step.title!r} was already {'approved' if done.approved else 'rejected'} by "
                           f"{done.actor}" + (f" at {done.decided_at:%Y-%m-%d %H:%M:%S} UTC" if done.decided_at else ""))
        raise refused
    assert step is not None
    return Decidable(execution, step, runbook, author)


async def decide(svc: Services, who: Principal, execution_id: str, step_id: str, *, approved: bool,
                 comment: str = "", values: dict[str, str] | None = None) -> Outcome:
    """Approve or reject a waiting step as `who` (recorded with the decision and in the audit trail)."""
    values = values or {}
    found = await decidable_step(svc, execution_id, step_id, approved=approved, who=who, values=values)
    needed = found.runbook.approvals if found.runbook and Risk(found.step.risk) is Risk.red else 1
    approvers = [who.name]
    if approved and needed > 1:
        approvers = await asyncio.to_thread(svc.store.add_vote, execution_id, step_id, who.name, comment) or []
        if not approvers:
            raise Conflict(f"{who.name} has already approved step {step_id!r}: it needs {needed} different approvers")
        if len(approvers) < needed:
            outcome = Outcome(Decision(step_id=step_id, approved=True, actor=who.name, comment=comment,
                                       values=values), approvers, needed)
            await svc.audit(who.name, "step.approve", f"execution:{execution_id}", step=step_id, risk=found.step.risk,
                            approvers=approvers, needed=needed, via=who.via)
            return outcome
    decision = Decision(step_id=step_id, approved=approved, actor=who.name, comment=comment,
                        values=values if approved else {}, approvers=approvers if needed > 1 else [])
    try:
        await svc.client.get_workflow_handle(execution_id).signal(
            Signal.APPROVE if approved else Signal.REJECT, decision)
    except RPCError as exc:
        raise Unavailable(f"cannot reach the execution in Temporal: {exc.message}") from None
    await svc.audit(who.name, "step.approve" if approved else "step.reject", f"execution:{execution_id}",
                    step=step_id, risk=found.step.risk, comment=comment, approvers=approvers, needed=needed,
                    via=who.via)
    return Outcome(decision, approvers, needed)
