"""Executions: progress, decisions on waiting steps, cancellation."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import PlainTextResponse

from api.auth import needs
from api.deps import services
from api.problems import responses
from api.schemas import (
    Approval, AuditEntryView, DecisionAccepted, DecisionBody, EventView, Evidence, EvidenceStep, ExecutionView, NoteBody,
    NoteView, ResumeBody, Rollback, StepSteered, StepView,
)
from runbooks.access import Permission, Principal
from runbooks.contract import ExecutionState
from runbooks.replay import Replay
from runbooks.storage.tables import ExecutionRow
from services import agents, control, notes
from services.context import Services
from services.decisions import decide
from services.reports import execution_replay, execution_report


NARRATE_HELP = ("add a summary written by the LLM (ANTHROPIC_API_KEY) that only restates the timeline: each sentence "
                "cites the facts it restates, and one that says anything they do not is left out")


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"  # Starlette adds "; charset=utf-8" to text types


router = APIRouter(prefix="/api/v1/executions", tags=["executions"], responses=responses(400, 401, 403, 404, 409))


def _view(svc: Services, ex: ExecutionRow, steps=(), approvals=(), events=()) -> ExecutionView:  # noqa: ANN001
    by_step = {a.step_id: a for a in approvals}
    return ExecutionView(
        id=ex.id, runbook_id=ex.runbook_id, runbook_version=ex.runbook_version, mode=ex.mode, status=ex.status,
        reason=ex.reason, alertname=ex.alertname, alert_fingerprint=ex.alert_fingerprint, params=ex.params,
        started_by=ex.started_by, started_at=ex.started_at, finished_at=ex.finished_at, resolved_at=ex.resolved_at,
        drill=ex.drill, temporal_ui_url=svc.settings.workflow_url(ex.id),
        steps=[StepView(
            id=s.step_id, title=s.title, position=s.position, risk=s.risk, risk_reason=s.risk_reason, target=s.target,
            status=s.status, command=s.command, output=s.output, exit_code=s.exit_code, started_at=s.started_at,
            finished_at=s.finished_at,
            approval=_approval(a) if (a := by_step.get(s.step_id)) else None, needs=s.needs, waiting_for=s.waiting_for,
            attempts=s.attempts,
            rollback=Rollback(command=s.rollback_command, status=s.rollback_status, exit_code=s.rollback_exit_code,
                              output=s.rollback_output) if s.rollback_command else None)
            for s in steps],
        events=[EventView(kind=e.kind, message=e.message, step_id=e.step_id, target=e.target, at=e.at) for e in events])


def _approval(a) -> Approval:  # noqa: ANN001
    return Approval(approved=a.approved, actor=a.actor, comment=a.comment, values=a.values, decided_at=a.decided_at,
                    approvers=a.approvers)


@router.get("", response_model=list[ExecutionView], dependencies=[Depends(needs(Permission.read))])
async def list_executions(status: str | None = None, runbook_id: str | None = None,
                          limit: int = Query(100, ge=1, le=1000),
                          svc: Services = Depends(services)) -> list[ExecutionView]:
    rows = await asyncio.to_thread(svc.store.list_executions, status, runbook_id, limit)
    return [_view(svc, r) for r in rows]


@router.get("/{execution_id}", response_model=ExecutionView, dependencies=[Depends(needs(Permission.read))])
async def get_execution(execution_id: str, svc: Services = Depends(services)) -> ExecutionView:
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise HTTPException(404, detail=f"no execution {execution_id!r}")
    view = _view(svc, *found)
    outputs = await agents.running_agent_outputs(svc, execution_id, ((s.id, s.target, s.status) for s in view.steps))
    for step in view.steps:  # a step on an agent: its output so far is in Temporal
        step.output = outputs.get(step.id, step.output)
    return view


@router.get("/{execution_id}/live", response_model=ExecutionState, dependencies=[Depends(needs(Permission.read))])
async def live_progress(execution_id: str, svc: Services = Depends(services)) -> ExecutionState:
    """Live progress straight from the workflow (a Temporal query), for a running execution."""
    return await control.current_progress(svc, execution_id)


async def _decide(execution_id: str, step_id: str, body: DecisionBody, svc: Services, who: Principal,
                  kind: Literal["approve", "reject"]) -> DecisionAccepted:
    done = await decide(svc, who, execution_id, step_id, approved=kind == "approve", comment=body.comment,
                        values=body.values)
    return DecisionAccepted(execution_id=execution_id, step_id=step_id,
                            decision="approved" if kind == "approve" else "rejected", actor=who.name,
                            approvers=done.approvers, approvals_needed=done.needed,
                            approvals_remaining=done.remaining)


@router.post("/{execution_id}/steps/{step_id}/approve", status_code=202, response_model=DecisionAccepted)
async def approve_step(execution_id: str, step_id: str, body: DecisionBody, svc: Services = Depends(services),
                       who: Principal = Depends(needs(Permission.decide))) -> DecisionAccepted:
    """Approve the waiting step as yourself (your token's identity). A red step needs the `approver`
    role, someone other than who started the execution and who wrote the runbook version, and as
    many distinct approvers as the runbook's `approvals:` asks for."""
    return await _decide(execution_id, step_id, body, svc, who, "approve")


@router.post("/{execution_id}/steps/{step_id}/reject", status_code=202, response_model=DecisionAccepted)
async def reject_step(execution_id: str, step_id: str, body: DecisionBody, svc: Services = Depends(services),
                      who: Principal = Depends(needs(Permission.decide))) -> DecisionAccepted:
    """Reject the waiting step: what was done so far is rolled back, newest first."""
    return await _decide(execution_id, step_id, body, svc, who, "reject")


@router.post("/{execution_id}/steps/{step_id}/breakpoint", response_model=StepSteered)
async def set_breakpoint(execution_id: str, step_id: str, svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.decide))) -> StepSteered:
    """Pause before this step (which has not started), in any mode; `resume` goes on."""
    done = await control.set_breakpoint(svc, who, execution_id, step_id)
    return StepSteered(execution_id=execution_id, step_id=step_id, result=done, actor=who.name)


@router.delete("/{execution_id}/steps/{step_id}/breakpoint", response_model=StepSteered)
async def clear_breakpoint(execution_id: str, step_id: str, svc: Services = Depends(services),
                           who: Principal = Depends(needs(Permission.decide))) -> StepSteered:
    """Take away a breakpoint set on the running execution before the step is reached."""
    done = await control.set_breakpoint(svc, who, execution_id, step_id, clear=True)
    return StepSteered(execution_id=execution_id, step_id=step_id, result=done, actor=who.name)


@router.post("/{execution_id}/steps/{step_id}/resume", response_model=StepSteered)
async def resume_step(execution_id: str, step_id: str, body: ResumeBody, svc: Services = Depends(services),
                      who: Principal = Depends(needs(Permission.decide))) -> StepSteered:
    """Go on from the breakpoint before this step: run it (`step_over: false`; a risky step still asks for
    its approval) or step over it (`step_over: true`, recorded as skipped)."""
    done = await control.resume(svc, who, execution_id, step_id, step_over=body.step_over)
    return StepSteered(execution_id=execution_id, step_id=step_id, result=done, actor=who.name)


@router.post("/{execution_id}/cancel", status_code=202)
async def cancel_execution(execution_id: str, svc: Services = Depends(services),
                           who: Principal = Depends(needs(Permission.cancel))) -> dict:
    """Cancel a running execution; completed steps are rolled back."""
    await control.cancel(svc, who, execution_id)
    return {"execution_id": execution_id, "status": "cancelling"}


@router.get("/{execution_id}/evidence", response_model=Evidence, dependencies=[Depends(needs(Permission.read))])
async def evidence(execution_id: str, svc: Services = Depends(services)) -> Evidence:
    """For a review or an auditor: who started it, who approved what and when, what ran, what changed,
    and every audit entry about it."""
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise HTTPException(404, detail=f"no execution {execution_id!r}")
    ex, steps, approvals, _ = found
    version = await asyncio.to_thread(svc.store.version_row, ex.runbook_id, ex.runbook_version)
    entries = await asyncio.to_thread(svc.audit_log.query, target=f"execution:{execution_id}", limit=10_000)
    by_step = {a.step_id: a for a in approvals}
    return Evidence(
        execution_id=ex.id, runbook_id=ex.runbook_id, runbook_version=ex.runbook_version,
        runbook_author=version.author if version else None, mode=ex.mode, status=ex.status,
        started_by=ex.started_by, started_at=ex.started_at, finished_at=ex.finished_at, alertname=ex.alertname,
        steps=[EvidenceStep(id=s.step_id, title=s.title, risk=s.risk, command=s.command, status=s.status,
                            exit_code=s.exit_code, started_at=s.started_at, finished_at=s.finished_at,
                            decision=_approval(a) if (a := by_step.get(s.step_id)) else None,
                            rollback_status=s.rollback_status) for s in steps],
        changed=[s.step_id for s in steps if s.status == "succeeded" and s.risk != "green" and s.command
                 and s.rollback_status != "succeeded"],
        audit=[AuditEntryView(seq=e.seq, at=e.at, actor=e.actor, action=e.action, target=e.target, detail=e.detail,
                              hash=e.hash) for e in entries])


def _note(n) -> NoteView:  # noqa: ANN001
    return NoteView(id=n.id or 0, execution_id=n.execution_id, author=n.author, text=n.text, command=n.command, at=n.at)


@router.post("/{execution_id}/notes", status_code=201, response_model=NoteView)
async def add_note(execution_id: str, body: NoteBody, svc: Services = Depends(services),
                   who: Principal = Depends(needs(Permission.decide))) -> NoteView:
    """Add a note to the execution's timeline and report, as yourself. "I also ran `cmd`" keeps the
    command: one that people run by hand in several runs becomes a suggested step."""
    return _note(await notes.add_note(svc, who, execution_id, body.text))


@router.get("/{execution_id}/notes", response_model=list[NoteView], dependencies=[Depends(needs(Permission.read))])
async def list_notes(execution_id: str, svc: Services = Depends(services)) -> list[NoteView]:
    return [_note(n) for n in await notes.notes(svc, execution_id)]


@router.get("/{execution_id}/report", response_class=MarkdownResponse, dependencies=[Depends(needs(Permission.read))],
            responses={200: {"description": "The incident report, in Markdown", "content": {"text/markdown": {}}}})
async def report(execution_id: str, narrate: bool = Query(False, description=NARRATE_HELP),
                 svc: Services = Depends(services)) -> MarkdownResponse:
    """The incident report of an execution, in Markdown: summary, impact (from the alert), timeline,
    what ran and its output, decisions and their reasons, rollbacks, resolution and recommendations.
    The same facts give the same text, byte for byte."""
    return MarkdownResponse(await execution_report(svc, execution_id, narrate))


@router.get("/{execution_id}/replay", response_model=Replay, dependencies=[Depends(needs(Permission.read))])
async def replay(execution_id: str, svc: Services = Depends(services)) -> Replay:
    """A past execution step by step, for training: each step's question (what the on-call person
    faced), the decision and its reason, what ran and what it printed, what was undone, how it ended."""
    return await execution_replay(svc, execution_id)
