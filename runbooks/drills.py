"""How well a fire drill went: did its alert find the runbook, how far did the steps get, how fast
did people answer the approval requests. Pure, so the API, the cockpit and the CLI score alike.

The score (0-100) weighs the three things a drill rehearses:
- 20 points: matching chose the drilled runbook for the synthetic alert;
- 50 points: the share of the planned steps completed (rehearsed, run on the sandbox, or done by hand);
- 30 points: the share of approval requests answered before their first escalation timer fired
  (an approval that escalated, or was never answered, earns nothing).
A drill still running is scored as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

COMPLETED = frozenset({"succeeded", "dry_run"})  # a drill's step is rehearsed (dry_run) or run on the sandbox


def parse_labels(pairs: Iterable[str]) -> dict[str, str]:
    """A drill's labels as people type them (`instance=web-1`, one per argument or line); blanks
    skipped. ValueError names the first that is not `label=value`."""
    out = {}
    for pair in (p.strip() for p in pairs):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"a label is written label=value, not {pair!r}")
        out[key.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class DrillStep:
    step_id: str
    title: str
    status: str
    waiting_since: datetime | None  # when it asked for approval (None: it never asked)
    decided_at: datetime | None
    approved: bool | None
    decided_by: str | None
    escalations: int


class ApprovalTiming(BaseModel):
    step_id: str
    title: str
    asked_at: datetime
    answered_at: datetime | None
    seconds: float | None = Field(description="time to answer; None while nobody has")
    approved: bool | None
    by: str | None
    escalations: int = Field(description="escalation timers that fired before the answer")


class DrillScore(BaseModel):
    score: int = Field(ge=0, le=100)
    matched: bool = Field(description="matching chose the drilled runbook for the drill's alert")
    steps_completed: int
    steps_total: int
    approvals: list[ApprovalTiming]
    escalations: int
    explanation: list[str]


def score_drill(matched: bool, steps: list[DrillStep]) -> DrillScore:
    completed = sum(1 for s in steps if s.status in COMPLETED)
    asked = [s for s in steps if s.waiting_since is not None]
    timings = [ApprovalTiming(
        step_id=s.step_id, title=s.title, asked_at=s.waiting_since, answered_at=s.decided_at,
        seconds=(s.decided_at - s.waiting_since).total_seconds() if s.decided_at and s.waiting_since else None,
        approved=s.approved, by=s.decided_by, escalations=s.escalations) for s in asked if s.waiting_since]
    prompt = sum(1 for s in asked if s.decided_at is not None and s.escalations == 0)
    step_share = completed / len(steps) if steps else 1.0
    approval_share = prompt / len(asked) if asked else 1.0
    score = round(20 * matched + 50 * step_share + 30 * approval_share)
    why = [f"matching {'chose' if matched else 'did NOT choose'} this runbook for the drill's alert "
           f"({20 if matched else 0}/20)",
           f"{completed} of {len(steps)} steps completed ({round(50 * step_share)}/50)",
           (f"{prompt} of {len(asked)} approval requests answered before an escalation ({round(30 * approval_share)}/30)"
            if asked else "no step asked for approval (30/30)")]
    return DrillScore(score=score, matched=matched, steps_completed=completed, steps_total=len(steps),
                      approvals=timings, escalations=sum(s.escalations for s in steps), explanation=why)
