"""What the web cockpit shows, read once per page: the doors render it, the rules stay here.

Who may press which button is decided by the same checks the actions make (`Principal.refusal`,
`policy.decision_refusal`), so a page never offers what the service would refuse, and a stale
page that offers it anyway gets the service's reason ("already decided by X").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from runbooks.access import DEFAULT_TEAM, Permission, Principal
from runbooks.authoring.lint import Quality, lint
from runbooks.authoring.reader import parse_text
from runbooks.contract import ExecutionStatus
from runbooks.errors import RunbookParseError
from runbooks.matching.results import MatchOutcome
from runbooks.model import DEFAULT_ESCALATION, EscalationAction, EscalationLevel, Runbook
from runbooks.review import review_reasons
from runbooks.storage.store import Store
from runbooks.storage.tables import (
    AlertRow, ApprovalRow, EventRow, ExecutionRow, NoteRow, RunbookRow, StepRow, utcnow,
)
from services import agents
from services.context import Services
from services.decisions import refusal_of
from services.errors import Invalid, NotFound


@dataclass
class NextEscalation:
    due: datetime
    action: str  # notify | reject
    target: str | None

    @property
    def words(self) -> str:
        return "rejected by the timer" if self.action == EscalationAction.reject.value else \
            f"escalates to {self.target or 'on-call'}"


@dataclass
class Waiting:
    """A step that waits for a decision, with whether this viewer may give it (and why not)."""

    step: StepRow
    refusal: str | None
    next_escalation: NextEscalation | None


@dataclass
class OpenExecution:
    execution: ExecutionRow
    title: str
    waiting: list[Waiting]

    @property
    def mine(self) -> bool:
        return any(w.refusal is None for w in self.waiting)

    @property
    def waits_since(self) -> datetime | None:
        return min((w.step.waiting_since for w in self.waiting if w.step.waiting_since), default=None)


@dataclass
class StepCard:
    step: StepRow
    approval: ApprovalRow | None
    votes: list[str]
    may_approve: str | None  # None: may; else why not
    may_reject: str | None
    next_escalation: NextEscalation | None


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str
    message: str


@dataclass
class ExecutionPage:
    execution: ExecutionRow
    runbook: Runbook | None
    author: str | None
    steps: list[StepCard]
    timeline: list[Moment]
    alert: AlertRow | None
    may_cancel: str | None
    temporal_ui_url: str

    @property
    def open(self) -> bool:
        return not ExecutionStatus(self.execution.status).terminal


@dataclass
class CatalogueEntry:
    row: RunbookRow
    team: str
    quality: Quality | None
    last_run: ExecutionRow | None


@dataclass
class Preview:
    runbook: Runbook | None
    quality: Quality | None
    reasons: list[str] = field(default_factory=list)  # why saving it would wait for review
    error: RunbookParseError | None = None
    exists: bool = False


def _chain(runbook: Runbook | None) -> list[EscalationLevel]:
    return runbook.escalation if runbook is not None else DEFAULT_ESCALATION


def next_escalation(step: StepRow, chain: list[EscalationLevel], done: int) -> NextEscalation | None:
    """The escalation that comes next for a waiting step: the timers count from when it began waiting."""
    if step.status != "waiting_approval" or step.waiting_since is None or done >= len(chain):
        return None
    level = chain[done]
    return NextEscalation(step.waiting_since + timedelta(seconds=level.after_seconds), level.action.value,
                          level.target)


def _refusal(who: Principal, ex: ExecutionRow, step: StepRow, team: str, author: str | None, *,
             approved: bool) -> str | None:
    """Why `who` may not press this step's button, by the rule the decision itself applies (the
    values a step needs are typed into the same form, so they count as given)."""
    refused = refusal_of(who, ex, step, step_id=step.step_id, approved=approved, team=team, author=author,
                         values={n: "given" for n in step.needs})
    return refused.reason if refused is not None else None


class _Immutable:
    """Runbook versions never change once stored: what the pages derive from one (the validated model,
    its author, its lints) is computed once per database, and forgotten with it."""

    def __init__(self) -> None:
        self._by_store: WeakKeyDictionary[Store, dict[tuple[str, str, int], Any]] = WeakKeyDictionary()

    def get(self, store: Store, kind: str, runbook_id: str, version: int, make: Callable[[], Any]) -> Any:
        cache = self._by_store.setdefault(store, {})
        key = (kind, runbook_id, version)
        if key not in cache:
            if len(cache) > 20_000:
                cache.clear()
            cache[key] = make()
        return cache[key]


_IMMUTABLE = _Immutable()


def pinned(svc: Services, runbook_id: str, version: int) -> tuple[Runbook | None, str | None]:
    """The runbook version an execution runs, and its author."""
    def read() -> tuple[Runbook | None, str | None]:
        row = svc.store.version_row(runbook_id, version)
        return (Runbook.model_validate(row.model), row.author) if row is not None else (None, None)

    return _IMMUTABLE.get(svc.store, "pinned", runbook_id, version, read)


def _open_executions(svc: Services, who: Principal) -> list[OpenExecution]:
    store = svc.store
    executions = store.open_executions()
    ids = [e.id for e in executions]
    waiting: dict[str, list[StepRow]] = {}
    for s in store.steps_of(ids, status="waiting_approval"):
        waiting.setdefault(s.execution_id, []).append(s)
    escalated = store.escalations_of(ids)
    out = []
    for ex in executions:
        runbook, author = pinned(svc, ex.runbook_id, ex.runbook_version)
        team = runbook.owning_team if runbook else DEFAULT_TEAM
        steps = waiting.get(ex.id, [])
        out.append(OpenExecution(ex, runbook.title if runbook else ex.runbook_id, [
            Waiting(s, _refusal(who, ex, s, team, author, approved=True),
                    next_escalation(s, _chain(runbook), escalated.get((ex.id, s.step_id), 0))) for s in steps]))
    return out


async def now(svc: Services, who: Principal) -> tuple[list[OpenExecution], list[OpenExecution]]:
    """Open executions: those waiting for this viewer first (longest waiting first), then the rest."""
    found = await asyncio.to_thread(_open_executions, svc, who)
    mine = sorted((o for o in found if o.mine), key=lambda o: o.waits_since or utcnow())
    return mine, [o for o in found if not o.mine]


DERIVED = {"started", "approval_requested", "decided", "step_finished"}  # read from the rows below instead


def timeline(ex: ExecutionRow, steps: list[StepRow], approvals: list[ApprovalRow], events: list[EventRow],
             notes: list[NoteRow] | tuple = ()) -> list[Moment]:
    """What happened, in order: the recorded events (escalations, the end, the alert resolving) with
    what the step records say (each start, wait, decision and finish), which chat-less runs lack,
    and the notes people added."""
    titles = {s.step_id: s.title for s in steps}
    out = [Moment(e.at, e.kind, e.message) for e in events if e.at is not None and e.kind not in DERIVED]
    if ex.started_at is not None:
        out.append(Moment(ex.started_at, "started", f"started ({ex.mode}) by {ex.started_by}"))
    for s in steps:
        if s.waiting_since is not None:
            out.append(Moment(s.waiting_since, "approval_requested", f"'{s.title}' ({s.risk}) waits for a decision"))
        if s.started_at is not None:
            out.append(Moment(s.started_at, "step_started", f"'{s.title}' started"))
        if s.finished_at is not None and s.status in ("succeeded", "failed"):
            exit_code = f" (exit {s.exit_code})" if s.exit_code is not None else ""
            out.append(Moment(s.finished_at, "step_finished", f"'{s.title}' {s.status}{exit_code}"))
    for a in approvals:
        if a.decided_at is not None:
            verdict = "approved" if a.approved else "rejected"
            comment = f": {a.comment}" if a.comment else ""
            out.append(Moment(a.decided_at, "decided", f"'{titles.get(a.step_id, a.step_id)}' {verdict} by {a.actor}{comment}"))
    out += [Moment(n.at, "note", f"{n.author}: {n.text}") for n in notes if n.at is not None]
    return sorted(out, key=lambda m: (m.at, m.kind != "started"))


def _execution_page(svc: Services, who: Principal, execution_id: str) -> ExecutionPage:
    store = svc.store
    found = store.get_execution(execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r}")
    ex, steps, approvals, events = found
    runbook, author = pinned(svc, ex.runbook_id, ex.runbook_version)
    team = runbook.owning_team if runbook else DEFAULT_TEAM
    by_step = {a.step_id: a for a in approvals}
    escalated = store.escalations_of([ex.id])
    cards = []
    for s in steps:
        waiting = s.status == "waiting_approval"
        cards.append(StepCard(
            step=s, approval=by_step.get(s.step_id), votes=store.votes(ex.id, s.step_id) if waiting else [],
            may_approve=_refusal(who, ex, s, team, author, approved=True) if waiting else "not waiting",
            may_reject=_refusal(who, ex, s, team, author, approved=False) if waiting else "not waiting",
            next_escalation=next_escalation(s, _chain(runbook), escalated.get((ex.id, s.step_id), 0))))
    terminal = ExecutionStatus(ex.status).terminal
    may_cancel = "it has ended" if terminal else who.refusal(Permission.cancel, team, "cancel executions")
    return ExecutionPage(ex, runbook, author, cards, timeline(ex, steps, approvals, events, store.notes_of([ex.id])),
                         store.alert_of_execution(ex.id), may_cancel, svc.settings.workflow_url(ex.id))


async def execution_page(svc: Services, who: Principal, execution_id: str) -> ExecutionPage:
    page = await asyncio.to_thread(_execution_page, svc, who, execution_id)
    outputs = await agents.running_agent_outputs(
        svc, execution_id, ((c.step.step_id, c.step.target, c.step.status) for c in page.steps))
    for card in page.steps:  # a step on an agent: its output so far is in Temporal (shown, never written back)
        card.step.output = outputs.get(card.step.step_id, card.step.output)
    return page


def quality_of(svc: Services, runbook: Runbook, version: int) -> Quality:
    """The lints of a stored version."""
    return _IMMUTABLE.get(svc.store, "quality", runbook.id, version, lambda: lint(runbook))


def _catalogue(svc: Services, query: str, team: str | None) -> list[CatalogueEntry]:
    rows = svc.store.list_runbooks()
    last = svc.store.last_runs()
    words = query.lower().split()
    out = []
    for row in rows:
        found = svc.catalog.runbooks.get(row.id) or svc.store.get_runbook(row.id)  # none live yet: the version waiting for review
        rb_team = found[0].owning_team if found else DEFAULT_TEAM
        haystack = " ".join(filter(None, (row.id, row.title, row.service, rb_team))).lower()
        if any(w not in haystack for w in words) or (team and rb_team != team):
            continue
        out.append(CatalogueEntry(row, rb_team, quality_of(svc, *found) if found else None, last.get(row.id)))
    return out


async def catalogue(svc: Services, query: str = "", team: str | None = None) -> list[CatalogueEntry]:
    """Runbooks whose id, title, service or team contain every word of `query`."""
    return await asyncio.to_thread(_catalogue, svc, query, team)


def _preview(svc: Services, text: str) -> Preview:
    if not text.strip():
        raise Invalid("paste a runbook: Markdown (with or without front matter) or YAML")
    try:
        runbook = parse_text(text, None, None, svc.settings.llm)
    except RunbookParseError as exc:
        return Preview(None, None, error=exc)
    live = svc.store.live_runbook(runbook.id)
    exists = live is not None or svc.store.runbook_row(runbook.id) is not None
    return Preview(runbook, lint(runbook), review_reasons(live[0] if live else None, runbook), exists=exists)


async def preview(svc: Services, text: str) -> Preview:
    """What a pasted runbook becomes, before anything is saved: its steps and risks, lints, and
    whether saving it would wait for review."""
    return await asyncio.to_thread(_preview, svc, text)


@dataclass
class Gap:
    alertname: str | None
    count: int
    last_seen: datetime | None
    closest: MatchOutcome | None


def _gaps(svc: Services, limit: int = 50) -> list[Gap]:
    counts = svc.store.alert_counts(matched=False)[:limit]
    samples = svc.store.latest_unmatched([name for name, _, _ in counts])
    out = []
    for name, count, last in counts:
        sample = samples.get(name)
        closest = svc.catalog.outcome(sample.labels, sample.annotations) if sample else None
        out.append(Gap(name, count, last, closest))  # type: ignore[arg-type]
    return out


@dataclass
class Unsure:
    alert: AlertRow
    outcome: MatchOutcome


def _unsure(svc: Services, limit: int = 20) -> list[Unsure]:
    latest: dict[str, AlertRow] = {}
    for row in svc.store.list_alerts(None, None, 500):  # newest first: the latest delivery of each alert
        latest.setdefault(row.fingerprint, row)
    out = []
    for row in latest.values():
        if row.status != "firing" or row.runbook_id or row.held_by:  # resolved, answered, or waiting its turn
            continue
        raw = row.raw if isinstance(row.raw, dict) else {}
        found = svc.catalog.outcome(row.labels, row.annotations, observed=False,
                                    generator_url=raw.get("generatorURL") if isinstance(raw.get("generatorURL"), str) else None)
        if found.ask:
            out.append(Unsure(row, found))
        if len(out) >= limit:
            break
    return out


async def unsure(svc: Services) -> list[Unsure]:
    """Firing alerts no runbook was chosen for, where matching is unsure: which runbook? A person picks
    among the top 3 (the choice is a pairing, learnt for the next alert of that name)."""
    return await asyncio.to_thread(_unsure, svc)


async def gaps(svc: Services) -> list[Gap]:
    """Alerts no runbook answered, by name (the most frequent first), with how often and the runbooks
    that came closest to the latest of them."""
    return await asyncio.to_thread(_gaps, svc)


async def why_matched(svc: Services, alert_id: int) -> tuple[AlertRow, MatchOutcome]:
    """An alert as received, and how matching reads it today (the runbook, the reason, the runners-up)."""
    alert = await asyncio.to_thread(svc.store.get_alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert, svc.catalog.outcome(alert.labels, alert.annotations)
