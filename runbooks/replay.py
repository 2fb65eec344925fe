"""Replay of a past execution, for training: its steps one at a time, each with what was asked,
what the person decided (and why), what ran and what it printed, what was undone, and how the run
ended. A trainee reads the question of a frame before its answer, as the on-call person faced it.

Pure: built from the stored (masked) records, so a replay reads the same every time and shows
nothing a report would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from runbooks.masking import mask
from runbooks.storage.tables import ApprovalRow, EventRow, ExecutionRow, NoteRow, StepRow

OUTPUT_CHARS = 8000  # the end of an output: where the error (or the result) is


class ReplayDecision(BaseModel):
    approved: bool
    by: str
    approvers: list[str] = Field(default_factory=list)
    comment: str = ""
    values: dict[str, str] = Field(default_factory=dict)
    after_seconds: float | None = Field(default=None, description="how long the step waited for it")


class ReplayFrame(BaseModel):
    number: int = Field(description="1-based: the step's place in the replay")
    at_seconds: float | None = Field(description="from the start of the execution to this step's first move")
    step_id: str
    title: str
    risk: str
    risk_reason: str
    target: str
    command: str | None
    question: str = Field(description="what the on-call person faced at this step")
    status: str
    what_happened: str
    decision: ReplayDecision | None = None
    escalations: list[str] = Field(default_factory=list, description="who was told while nobody answered")
    exit_code: int | None = None
    output: str = ""
    duration_seconds: float | None = None
    rollback_command: str | None = None
    rollback_status: str | None = None
    rollback_output: str = ""
    notes: list[str] = Field(default_factory=list, description="notes people added while it was the latest step begun")


class Replay(BaseModel):
    execution_id: str
    runbook_id: str
    runbook_version: int
    title: str
    mode: str
    drill: bool
    started_by: str
    started_at: datetime | None
    alertname: str | None
    labels: dict[str, str]
    frames: list[ReplayFrame]
    outcome: str = Field(description="how the run ended, and when the alert resolved")


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    return round((later - earlier).total_seconds(), 1) if later and earlier else None


def _question(step: StepRow) -> str:
    if step.waiting_since is not None:
        values = f" It needs values: {', '.join(step.needs)}." if step.needs else ""
        return f"A {step.risk} step asks for approval before it runs on {step.target}.{values} Would you approve it?"
    if step.status in ("pending",):
        return "The run never reached this step."
    return f"A {step.risk} step: in this mode it runs by itself on {step.target}."


def _happened(step: StepRow, decision: ApprovalRow | None) -> str:
    verdict = ""
    if decision is not None:
        verdict = f"{'approved' if decision.approved else 'rejected'} by {decision.actor}" + (
            f" ({decision.comment})" if decision.comment else "") + "; "
    outcome = {
        "succeeded": "it ran and succeeded" if step.command else "done by hand and confirmed",
        "failed": f"it ran and failed (exit {step.exit_code})" if step.exit_code is not None else "it failed",
        "rejected": "it did not run",
        "skipped": "skipped",
        "dry_run": "shown, not run (a dry run or a drill)",
        "pending": "never reached",
        "waiting_approval": "still waiting for a decision",
        "running": "still running",
        "cancelled": "cancelled",
    }.get(step.status, step.status)
    undone = {"succeeded": "; undone by its rollback", "failed": "; its rollback FAILED"}.get(step.rollback_status or "", "")
    return (verdict + outcome + undone).strip()


def build_replay(ex: ExecutionRow, title: str, steps: Sequence[StepRow], approvals: Sequence[ApprovalRow],
                 events: Sequence[EventRow], notes: Sequence[NoteRow], labels: dict[str, str]) -> Replay:
    decided = {a.step_id: a for a in approvals}
    ordered = sorted(steps, key=lambda s: s.position)
    began_at = [s.waiting_since or s.started_at or s.finished_at for s in ordered]
    noted: dict[int, list[str]] = {}
    for note in notes:  # a note belongs to the step that was the current one when it was written
        current = [i for i, at in enumerate(began_at) if at is not None and note.at is not None and at <= note.at]
        noted.setdefault(current[-1] if current else 0, []).append(f"{note.author}: {note.text}")
    frames = []
    for n, step in enumerate(ordered, start=1):
        decision = decided.get(step.step_id)
        began = began_at[n - 1]
        frames.append(ReplayFrame(
            number=n, at_seconds=_seconds(began, ex.started_at), step_id=step.step_id, title=step.title, risk=step.risk,
            risk_reason=step.risk_reason, target=step.target, command=step.command, question=_question(step),
            status=step.status, what_happened=_happened(step, decision),
            decision=ReplayDecision(approved=decision.approved, by=decision.actor, approvers=list(decision.approvers),
                                    comment=decision.comment, values={k: str(v) for k, v in decision.values.items()},
                                    after_seconds=_seconds(decision.decided_at, step.waiting_since))
            if decision else None,
            escalations=[e.message for e in events if e.kind == "escalation" and e.step_id == step.step_id],
            exit_code=step.exit_code, output=(mask(step.output) or "")[-OUTPUT_CHARS:],
            duration_seconds=_seconds(step.finished_at, step.started_at), rollback_command=step.rollback_command,
            rollback_status=step.rollback_status, rollback_output=(mask(step.rollback_output) or "")[-OUTPUT_CHARS:],
            notes=noted.get(n - 1, [])))
    resolved = ""
    if ex.resolved_at is not None:
        before = [s for s in ordered if s.finished_at and s.finished_at <= ex.resolved_at]
        resolved = (f"; the alert resolved after step {before[-1].position} ('{before[-1].title}')" if before
                    else "; the alert resolved before any step finished")
    return Replay(execution_id=ex.id, runbook_id=ex.runbook_id, runbook_version=ex.runbook_version, title=title,
                  mode=ex.mode, drill=ex.drill, started_by=ex.started_by, started_at=ex.started_at,
                  alertname=ex.alertname, labels=labels, frames=frames,
                  outcome=f"{ex.status.replace('_', ' ')}" + (f": {ex.reason}" if ex.reason else "") + resolved)
