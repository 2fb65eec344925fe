"""What a runbook's past executions say about it: which steps help, which rot, how fast people act.

Pure: the store gathers the facts (`InsightFacts`), these rules read them, so the same figures and
flags serve the API, the cockpit and the tests. Dry runs are not runs: they are left out.

- a **dead step** was rejected or skipped in every one of at least `DEAD_AFTER` runs that had it;
- a **broken step** failed the same way (exit code and last line of output) at least `BROKEN_AFTER`
  times, its latest run among them: "command not found" is the classic;
- a **stale runbook** has not succeeded for `STALE_DAYS`; its confidence is its success odds (a
  Laplace estimate) halved every `HALF_LIFE_DAYS` since its last success (or since it was made).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

DEAD_AFTER = 3
BROKEN_AFTER = 2
STALE_DAYS = 90
HALF_LIFE_DAYS = 90.0


@dataclass(frozen=True)
class Failure:
    step_id: str
    exit_code: int | None
    tail: str  # the end of the output, where the error usually is
    at: datetime | None


@dataclass
class InsightFacts:
    """What the database knows about one runbook's executions (dry runs already left out)."""

    runbook_id: str
    created_at: datetime | None
    by_status: dict[str, int] = field(default_factory=dict)
    last_success_at: datetime | None = None
    # medians, in seconds, computed by the store (the database, where it can)
    resolve_median: float | None = None  # start -> the alert resolved, with the runbook
    resolve_without_median: float | None = None  # the same alert names, no execution
    approve_median: float | None = None  # per execution: its start -> its first approval
    steps: dict[str, dict[str, int]] = field(default_factory=dict)  # step id -> status -> count
    titles: dict[str, str] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    latest_status: dict[str, str] = field(default_factory=dict)  # step id -> its status in the latest run
    failures: list[Failure] = field(default_factory=list)  # newest first


class Flag(BaseModel):
    kind: str = Field(description="dead_step | broken_step | stale")
    step_id: str | None = None
    message: str


class StepInsight(BaseModel):
    step_id: str
    title: str
    position: int
    runs: int = Field(description="executions that had this step")
    ran: int = Field(description="the command ran: succeeded + failed")
    succeeded: int
    failed: int
    rejected: int
    skipped: int
    flags: list[str] = Field(default_factory=list)


class RunbookInsights(BaseModel):
    runbook_id: str
    executions: int
    by_status: dict[str, int]
    success_rate: float | None = Field(description="succeeded / ended executions")
    median_time_to_resolve_seconds: float | None
    median_time_to_resolve_without_seconds: float | None = Field(
        description="the same alert names when no execution ran")
    median_time_to_first_approval_seconds: float | None = Field(
        description="from an execution's start to the first approval a person gave")
    last_success_at: datetime | None
    confidence: float = Field(description="0..1: success odds, halved every 90 days without a success")
    flags: list[Flag]
    steps: list[StepInsight]


ENDED = ("succeeded", "failed", "rolled_back", "cancelled")


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _signature(f: Failure) -> tuple[int | None, str]:
    lines = [line.strip() for line in f.tail.splitlines() if line.strip()]
    return f.exit_code, lines[-1] if lines else ""


def broken(failures: list[Failure], latest: str | None) -> str | None:
    """Why a step is broken (its newest failures the same), or None. `failures` are one step's, newest first."""
    if latest != "failed" or len(failures) < BROKEN_AFTER:
        return None
    newest = _signature(failures[0])
    same = [f for f in failures if _signature(f) == newest]
    if len(same) < BROKEN_AFTER:
        return None
    exit_code, line = newest
    what = line or "no output"
    return f"failed {len(same)} times the same way (exit {exit_code}: {what})"


def confidence(successes: int, ended: int, last_success: datetime | None, created: datetime | None,
               now: datetime) -> float:
    since = last_success or created or now
    age_days = max((now - since).total_seconds(), 0) / 86400
    return round((successes + 1) / (ended + 2) * 0.5 ** (age_days / HALF_LIFE_DAYS), 3)


def insights(facts: InsightFacts, now: datetime) -> RunbookInsights:
    executions = sum(facts.by_status.values())
    ended = sum(facts.by_status.get(s, 0) for s in ENDED)
    succeeded = facts.by_status.get("succeeded", 0)
    flags: list[Flag] = []
    steps = []
    by_step: dict[str, list[Failure]] = {}
    for f in facts.failures:
        by_step.setdefault(f.step_id, []).append(f)
    for step_id, counts in sorted(facts.steps.items(), key=lambda kv: facts.positions.get(kv[0], 0)):
        runs = sum(counts.values())
        insight = StepInsight(
            step_id=step_id, title=facts.titles.get(step_id, step_id), position=facts.positions.get(step_id, 0),
            runs=runs, ran=counts.get("succeeded", 0) + counts.get("failed", 0), succeeded=counts.get("succeeded", 0),
            failed=counts.get("failed", 0), rejected=counts.get("rejected", 0), skipped=counts.get("skipped", 0))
        unused = insight.rejected + insight.skipped
        if runs >= DEAD_AFTER and unused == runs:
            insight.flags.append("dead")
            flags.append(Flag(kind="dead_step", step_id=step_id, message=(
                f"step '{insight.title}' was rejected or skipped in all {runs} runs "
                f"({insight.rejected} rejected, {insight.skipped} skipped): remove it or fix it")))
        if (why := broken(by_step.get(step_id, []), facts.latest_status.get(step_id))) is not None:
            insight.flags.append("broken")
            flags.append(Flag(kind="broken_step", step_id=step_id, message=f"step '{insight.title}' {why}"))
        steps.append(insight)
    since = facts.last_success_at or facts.created_at
    if since is not None and now - since > timedelta(days=STALE_DAYS):
        when = "never succeeded" if facts.last_success_at is None else f"last succeeded {facts.last_success_at:%Y-%m-%d}"
        flags.append(Flag(kind="stale", message=f"no successful run for {(now - since).days} days ({when})"))
    return RunbookInsights(
        runbook_id=facts.runbook_id, executions=executions, by_status=dict(sorted(facts.by_status.items())),
        success_rate=round(succeeded / ended, 3) if ended else None,
        median_time_to_resolve_seconds=_rounded(facts.resolve_median),
        median_time_to_resolve_without_seconds=_rounded(facts.resolve_without_median),
        median_time_to_first_approval_seconds=_rounded(facts.approve_median),
        last_success_at=facts.last_success_at,
        confidence=confidence(succeeded, ended, facts.last_success_at, facts.created_at, now),
        flags=flags, steps=steps)
