"""Reads and writes of the application database, in the terms the rest of the code speaks."""

from __future__ import annotations

import logging
import statistics
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from runbooks.contract import LIVE_STATUSES, TIMER_ACTOR, ExecutionEvent, ExecutionState, StepState
from runbooks.earned_trust import Outcome
from runbooks.incidents import Responder
from runbooks.insights import Failure, InsightFacts
from runbooks.suggestions import Supplied
from runbooks.masking import mask, mask_mapping
from runbooks.model import Runbook
from runbooks.storage.tables import (
    AlertRow, ApprovalRow, ApprovalVoteRow, DismissalRow, DrillRow, EventRow, ExecutionRow, GroupClaim, IncidentKeyRow, IncidentRow,
    NoteRow, PairingRow, RejectedDelivery, RunbookRow, RunbookVersionRow, SlackMessageRow, StepRow, utcnow,
)

log = logging.getLogger(__name__)
_STEP_FIELDS = ("risk_reason", "target", "exit_code", "started_at", "finished_at", "rollback_exit_code", "needs",
                "waiting_since", "waiting_for", "attempts")  # a step row's fields copied as they are (not masked)
DEPLOYED = ("directory", "git")  # what the operator deploys goes live at once
# Runs that say something about a runbook: dry runs execute nothing, fire drills are rehearsals.
REAL_RUN = (col(ExecutionRow.mode) != "dry_run", col(ExecutionRow.drill).is_(False))


@dataclass(frozen=True)
class Origin:
    """Where a connection read a runbook's text: the page (or file) URL, its version there."""

    url: str | None = None
    version: str | None = None
    deployed: bool = False  # a protected branch: counts as reviewed


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- runbooks -------------------------------------------------------------------------------

    def save_runbook(self, runbook: Runbook, source: str, author: str = "loader", source_kind: str = "directory",
                     commit: str | None = None, review_reasons: list[str] | None = None,
                     origin: Origin | None = None) -> tuple[int, bool]:
        """Store a runbook; a new immutable version only when its content changed.

        With `review_reasons` the version waits for review (executions keep the live one); without,
        it is live at once. Two processes saving the same runbook at once (API replicas loading the
        library at start) collide on the version's unique key: the loser reads again and finds the
        content stored. `origin` says where a connection read it (page URL and version) and whether
        that place counts as deployed (a protected branch): then unchanged content pending review goes live.
        """
        for attempt in range(3):
            try:
                return self._save_runbook(runbook, source, author, source_kind, commit, list(review_reasons or []),
                                          origin or Origin())
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _save_runbook(self, runbook: Runbook, source: str, author: str, source_kind: str,
                      commit: str | None, reasons: list[str], origin: Origin) -> tuple[int, bool]:
        digest = runbook.fingerprint()
        with self.session() as s:
            row = s.get(RunbookRow, runbook.id)
            if row is not None:
                latest = s.exec(select(RunbookVersionRow).where(
                    RunbookVersionRow.runbook_id == runbook.id, RunbookVersionRow.version == row.latest_version)).one()
                if latest.content_hash == digest:
                    deployed = source_kind in DEPLOYED or origin.deployed
                    if not reasons and deployed and row.live_version != latest.version:
                        self._go_live(row, latest, author, "deployed by the operator")  # deploying is the review
                        s.add_all([row, latest])
                        s.commit()
                    return row.latest_version, False
                row.latest_version += 1
            else:
                row = RunbookRow(id=runbook.id, title=runbook.title, latest_version=1, created_at=utcnow())
            version = RunbookVersionRow(runbook_id=runbook.id, version=row.latest_version, content_hash=digest,
                                        source=source, model=runbook.model_dump(mode="json"), author=author,
                                        source_kind=source_kind, commit=commit, created_at=utcnow(),
                                        source_url=origin.url, source_version=origin.version,
                                        state="pending_review" if reasons else "live", review_reasons=reasons)
            if not reasons:
                row.live_version = version.version
            if row.live_version == version.version or row.live_version is None:
                row.title, row.service, row.source_path = runbook.title, runbook.service, runbook.source_path
            row.updated_at = utcnow()
            s.add(row)
            s.add(version)
            s.commit()
            return row.latest_version, True

    @staticmethod
    def _go_live(row: RunbookRow, version: RunbookVersionRow, reviewer: str, comment: str) -> None:
        version.state, version.reviewed_by, version.reviewed_at, version.review_comment = (
            "live", reviewer, utcnow(), comment)
        row.live_version = version.version
        rb = Runbook.model_validate(version.model)
        row.title, row.service, row.source_path, row.updated_at = rb.title, rb.service, rb.source_path, utcnow()

    def review_version(self, runbook_id: str, version: int, *, approve: bool, reviewer: str,
                       comment: str) -> RunbookVersionRow | str:
        """Take a pending version live (or reject it); the refusal as text when it is not pending."""
        with self.session() as s:
            row = s.get(RunbookRow, runbook_id)
            ver = s.exec(select(RunbookVersionRow).where(RunbookVersionRow.runbook_id == runbook_id,
                                                         RunbookVersionRow.version == version)).first()
            if row is None or ver is None:
                return f"no runbook {runbook_id!r} version {version}"
            if ver.state != "pending_review":
                return f"{runbook_id} version {version} is not waiting for review (it is {ver.state})"
            if approve and row.live_version is not None and row.live_version > version:
                return (f"{runbook_id} version {row.live_version} is live and newer: version {version} was "
                        "superseded; submit the change again on top of it")
            if approve:
                self._go_live(row, ver, reviewer, comment)
                s.add(row)
            else:
                ver.state, ver.reviewed_by, ver.reviewed_at, ver.review_comment = (
                    "rejected", reviewer, utcnow(), comment)
            s.add(ver)
            s.commit()
            return ver

    def list_runbooks(self) -> list[RunbookRow]:
        with self.session() as s:
            return list(s.exec(select(RunbookRow).order_by(RunbookRow.id)))

    def runbook_row(self, runbook_id: str) -> RunbookRow | None:
        with self.session() as s:
            return s.get(RunbookRow, runbook_id)

    def get_runbook(self, runbook_id: str, version: int | None = None) -> tuple[Runbook, int] | None:
        """A version, or (without one) the live version, or the latest while none is live yet."""
        with self.session() as s:
            row = s.get(RunbookRow, runbook_id)
            if row is None:
                return None
            ver = s.exec(select(RunbookVersionRow).where(
                RunbookVersionRow.runbook_id == runbook_id,
                RunbookVersionRow.version == (version or row.live_version or row.latest_version))).first()
            return (Runbook.model_validate(ver.model), ver.version) if ver else None

    def live_runbook(self, runbook_id: str) -> tuple[Runbook, int] | None:
        """What an execution runs: the live version (None for a runbook none of whose versions is live)."""
        row = self.runbook_row(runbook_id)
        return None if row is None or row.live_version is None else self.get_runbook(runbook_id, row.live_version)

    def versions(self, runbook_id: str) -> list[RunbookVersionRow]:
        with self.session() as s:
            return list(s.exec(select(RunbookVersionRow).where(RunbookVersionRow.runbook_id == runbook_id)
                               .order_by(RunbookVersionRow.version)))

    def version_row(self, runbook_id: str, version: int) -> RunbookVersionRow | None:
        with self.session() as s:
            return s.exec(select(RunbookVersionRow).where(RunbookVersionRow.runbook_id == runbook_id,
                                                          RunbookVersionRow.version == version)).first()

    def live_runbooks(self) -> list[tuple[Runbook, int]]:
        """The catalogue alerts are matched against: each runbook's live version."""
        with self.session() as s:
            rows = s.exec(select(RunbookVersionRow).join(
                RunbookRow, (RunbookRow.id == RunbookVersionRow.runbook_id)
                & (RunbookRow.live_version == RunbookVersionRow.version)))
            return [(Runbook.model_validate(r.model), r.version) for r in rows]

    # -- alerts and executions ------------------------------------------------------------------

    def record_alerts(self, rows: list[AlertRow]) -> None:
        with self.session() as s:
            for row in rows:  # what an alert carries is stored and shown masked
                row.labels, row.annotations = mask_mapping(row.labels or {}), mask_mapping(row.annotations or {})
                row.raw = mask_mapping(row.raw) if isinstance(row.raw, dict) else row.raw
            s.add_all(rows)
            s.commit()

    def record_execution(self, row: ExecutionRow) -> str:
        """Write the row of a started workflow, or complete the one its first save wrote; returns its status."""
        row.params = mask_mapping(row.params or {})
        row.updated_at = utcnow()
        with self.session() as s:
            existing = s.get(ExecutionRow, row.id)
            if existing is None:
                s.add(row)
                try:
                    s.commit()
                    return row.status
                except IntegrityError:  # the workflow's save got there in between
                    s.rollback()
                    existing = s.get(ExecutionRow, row.id)
                    assert existing is not None
            for name in ("alertname", "alert_fingerprint", "group_key"):
                if getattr(existing, name) is None and getattr(row, name) is not None:
                    setattr(existing, name, getattr(row, name))
            existing.updated_at = row.updated_at
            s.add(existing)
            s.commit()
            return existing.status

    def save_state(self, state: ExecutionState) -> list[StepState]:
        """Mirror the workflow's live state: execution, each step, and who decided what.

        Returns the steps whose decision this call recorded (the approval row is unique per step),
        so a replayed save reports each decision once at most: metrics observe exactly these.
        """
        recorded: list[StepState] = []
        with self.session() as s:
            ex = s.get(ExecutionRow, state.execution_id)
            if ex is None:
                ex = ExecutionRow(id=state.execution_id, runbook_id=state.runbook_id,
                                  runbook_version=state.runbook_version, mode=state.mode.value,
                                  status=state.status.value, started_at=state.started_at,
                                  alertname=state.alertname, alert_fingerprint=state.alert_fingerprint,
                                  params=mask_mapping(state.params), started_by=state.started_by,
                                  drill=state.drill)
            ex.status, ex.reason = state.status.value, mask(state.reason) or ""
            if state.status.terminal:  # the group may start a new execution from now on
                for claim in s.exec(select(GroupClaim).where(GroupClaim.execution_id == state.execution_id)):
                    s.delete(claim)
            ex.finished_at, ex.resolved_at, ex.updated_at = state.finished_at, state.resolved_at, utcnow()
            s.add(ex)
            # Compared as plain columns first, and only the steps that changed loaded as rows: most saves
            # change one step of many (a 50-step runbook saves 50 times).
            columns = (StepRow.step_id, StepRow.status, StepRow.rollback_status,
                       *(getattr(StepRow, name) for name in _STEP_FIELDS))
            stored = {r[0]: tuple(r[1:]) for r in s.exec(  # type: ignore[call-overload]
                select(*columns).where(StepRow.execution_id == state.execution_id))}
            decided = set(s.exec(select(ApprovalRow.step_id).where(ApprovalRow.execution_id == state.execution_id)))
            changed: list[tuple[StepState, tuple | None, tuple]] = []
            for st in state.steps:
                wanted = (st.status.value, st.rollback_status.value if st.rollback_status else None,
                          *(getattr(st, name) for name in _STEP_FIELDS))
                if stored.get(st.id) != wanted or (st.decision is not None and st.id not in decided):
                    changed.append((st, stored.get(st.id), wanted))
            rows = {r.step_id: r for r in s.exec(select(StepRow).where(
                StepRow.execution_id == state.execution_id, col(StepRow.step_id).in_([c[0].id for c in changed])))
            } if changed else {}
            exit_at = 2 + _STEP_FIELDS.index("exit_code")
            rollback_exit_at = 2 + _STEP_FIELDS.index("rollback_exit_code")
            for st, before, wanted in changed:
                # A step's command and output change only as its status does: a save that finds the same
                # status leaves them, and does not mask 64 KiB outputs again.
                moved = before is None or (before[0], before[1], before[exit_at], before[rollback_exit_at]) != (
                    wanted[0], wanted[1], wanted[exit_at], wanted[rollback_exit_at])
                row = rows.get(st.id) or StepRow(execution_id=state.execution_id, step_id=st.id, position=st.position,
                                                 title=st.title, risk=st.risk.value, status=st.status.value)
                for name in _STEP_FIELDS:
                    setattr(row, name, getattr(st, name))
                if moved:
                    for name in ("command", "output", "rollback_command", "rollback_output"):  # stored masked
                        setattr(row, name, mask(getattr(st, name)))
                row.status, row.rollback_status = wanted[0], wanted[1]
                s.add(row)
                if st.decision is not None and st.id not in decided:
                    d = st.decision
                    s.add(ApprovalRow(execution_id=state.execution_id, step_id=st.id, approved=d.approved,
                                      actor=d.actor, comment=mask(d.comment) or "", values=mask_mapping(d.values),
                                      decided_at=d.decided_at, approvers=list(d.approvers)))
                    recorded.append(st)
            s.commit()
        return recorded

    def add_vote(self, execution_id: str, step_id: str, actor: str, comment: str) -> list[str] | None:
        """Record one approval of a step that needs several; every approver so far, or None when
        this actor had already approved it."""
        with self.session() as s:
            s.add(ApprovalVoteRow(execution_id=execution_id, step_id=step_id, actor=actor, comment=mask(comment) or "",
                                  at=utcnow()))
            try:
                s.commit()
            except IntegrityError:
                return None
        return self.votes(execution_id, step_id)

    def votes(self, execution_id: str, step_id: str) -> list[str]:
        with self.session() as s:
            return list(s.exec(select(ApprovalVoteRow.actor).where(
                ApprovalVoteRow.execution_id == execution_id, ApprovalVoteRow.step_id == step_id)
                .order_by(ApprovalVoteRow.id)))

    def add_event(self, ev: ExecutionEvent) -> None:
        with self.session() as s:
            s.add(EventRow(execution_id=ev.execution_id, kind=ev.kind.value, step_id=ev.step_id, target=ev.target,
                           message=mask(ev.message), at=ev.at or utcnow()))
            self._touch(s, ev.execution_id)
            s.commit()

    @staticmethod
    def _touch(s: Session, execution_id: str) -> None:
        s.exec(update(ExecutionRow).where(ExecutionRow.id == execution_id)  # type: ignore[call-overload]
               .values(updated_at=utcnow()))

    def mark_step_running(self, execution_id: str, step_id: str, at: datetime) -> None:
        """A fast green step's row turns `running` when its command starts (the workflow saves only its end)."""
        with self.session() as s:
            s.exec(update(StepRow).where(  # type: ignore[call-overload]
                StepRow.execution_id == execution_id, StepRow.step_id == step_id, StepRow.status == "pending")
                .values(status="running", started_at=at))
            self._touch(s, execution_id)
            s.commit()

    def save_partial_output(self, execution_id: str, step_id: str, output: str) -> bool:
        """The output so far of a step that is still running (shown live); False once it has ended,
        when the final output is the workflow's to write."""
        with self.session() as s:
            done = s.exec(update(StepRow).where(  # type: ignore[call-overload]
                StepRow.execution_id == execution_id, StepRow.step_id == step_id, StepRow.status == "running")
                .values(output=mask(output) or ""))
            if not done.rowcount:
                return False
            self._touch(s, execution_id)
            s.commit()
            return True

    def changed_since(self, since: datetime, limit: int = 1000) -> list[tuple[str, datetime]]:
        """Executions written at or after `since` (id, updated_at), oldest change first: the live feed."""
        with self.session() as s:
            return [tuple(r) for r in s.exec(  # type: ignore[misc]
                select(ExecutionRow.id, ExecutionRow.updated_at).where(col(ExecutionRow.updated_at) >= since)
                .order_by(col(ExecutionRow.updated_at)).limit(limit))]

    def get_execution(self, execution_id: str) -> tuple[ExecutionRow, list[StepRow], list[ApprovalRow],
                                                          list[EventRow]] | None:
        with self.session() as s:
            ex = s.get(ExecutionRow, execution_id)
            if ex is None:
                return None
            steps = list(s.exec(select(StepRow).where(StepRow.execution_id == execution_id)
                                .order_by(StepRow.position)))
            approvals = list(s.exec(select(ApprovalRow).where(ApprovalRow.execution_id == execution_id)))
            events = list(s.exec(select(EventRow).where(EventRow.execution_id == execution_id)
                                 .order_by(EventRow.id)))
            return ex, steps, approvals, events

    def list_executions(self, status: str | None = None, runbook_id: str | None = None,
                        limit: int = 100) -> list[ExecutionRow]:
        with self.session() as s:
            q = select(ExecutionRow).order_by(col(ExecutionRow.started_at).desc()).limit(limit)
            if status:
                q = q.where(ExecutionRow.status == status)
            if runbook_id:
                q = q.where(ExecutionRow.runbook_id == runbook_id)
            return list(s.exec(q))

    def open_executions_for_alert(self, fingerprint: str) -> list[str]:
        """Running executions this alert was delivered to (directly, or as a member of a group)."""
        with self.session() as s:
            started = select(AlertRow.execution_id).where(AlertRow.fingerprint == fingerprint,
                                                          col(AlertRow.execution_id).is_not(None))
            return list(s.exec(select(ExecutionRow.id).where(
                col(ExecutionRow.id).in_(started), col(ExecutionRow.status).in_(LIVE_STATUSES))))

    def claim_group(self, group_key: str, execution_id: str) -> str | None:
        """Claim a group for a new execution; returns the execution that already holds it, if any."""
        with self.session() as s:
            s.add(GroupClaim(group_key=group_key, execution_id=execution_id, claimed_at=utcnow()))
            try:
                s.commit()
                return None
            except IntegrityError:
                s.rollback()
                held = s.get(GroupClaim, group_key)
                return held.execution_id if held else None

    def group_holder(self, group_key: str) -> str | None:
        """The execution that holds a group now, if any."""
        with self.session() as s:
            claim = s.get(GroupClaim, group_key)
            return claim.execution_id if claim is not None else None

    def release_group(self, group_key: str, execution_id: str) -> None:
        with self.session() as s:
            claim = s.get(GroupClaim, group_key)
            if claim is not None and claim.execution_id == execution_id:
                s.delete(claim)
                s.commit()

    def record_rejected(self, row: RejectedDelivery) -> None:
        row.body, row.headers = mask(row.body), mask_mapping(row.headers or {})
        with self.session() as s:
            s.add(row)
            s.commit()

    def list_rejected(self, limit: int = 100) -> list[RejectedDelivery]:
        with self.session() as s:
            return list(s.exec(select(RejectedDelivery).order_by(col(RejectedDelivery.id).desc()).limit(limit)))

    def list_alerts(self, matched: bool | None = None, source: str | None = None,
                    limit: int = 100) -> list[AlertRow]:
        with self.session() as s:
            q = select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit)
            if matched is not None:
                q = q.where(col(AlertRow.runbook_id).is_not(None) if matched else col(AlertRow.runbook_id).is_(None))
                q = q.where(AlertRow.status == "firing")
            if source:
                q = q.where(AlertRow.source == source)
            return list(s.exec(q))

    def alert_counts(self, matched: bool | None = None) -> list[tuple[str | None, int, object]]:
        """Deliveries per alert name (with the last time seen): for unmatched ones, the coverage gaps."""
        with self.session() as s:
            q = select(AlertRow.alertname, func.count(), func.max(AlertRow.received_at)).where(
                AlertRow.status == "firing").group_by(AlertRow.alertname).order_by(func.count().desc())
            if matched is not None:
                q = q.where(col(AlertRow.runbook_id).is_not(None) if matched else col(AlertRow.runbook_id).is_(None))
            return [tuple(r) for r in s.exec(q)]

    def execution_counts(self) -> dict[str, int]:
        """Executions per status, in one GROUP BY (the /metrics gauge, computed at each scrape); a fire
        drill waiting for approval is not an execution an alert rule should page about."""
        with self.session() as s:
            return {status: n for status, n in s.exec(
                select(ExecutionRow.status, func.count()).where(col(ExecutionRow.drill).is_(False))
                .group_by(ExecutionRow.status))}

    def runbook_outcomes(self) -> dict[tuple[str, str], int]:
        """Executions per (runbook, status), dry runs and drills aside: one GROUP BY, for the metrics scrape."""
        with self.session() as s:
            return {(rid, status): n for rid, status, n in s.exec(
                select(ExecutionRow.runbook_id, ExecutionRow.status, func.count())
                .where(*REAL_RUN).group_by(ExecutionRow.runbook_id, ExecutionRow.status))}

    def execution_status(self, execution_id: str) -> str | None:
        with self.session() as s:
            return s.exec(select(ExecutionRow.status).where(ExecutionRow.id == execution_id)).first()

    # -- what the cockpit reads -------------------------------------------------------------------

    def open_executions(self, limit: int = 500) -> list[ExecutionRow]:
        with self.session() as s:
            return list(s.exec(select(ExecutionRow).where(
                col(ExecutionRow.status).in_(LIVE_STATUSES))
                .order_by(col(ExecutionRow.started_at).desc()).limit(limit)))

    def steps_of(self, execution_ids: list[str], status: str | None = None) -> list[StepRow]:
        if not execution_ids:
            return []
        with self.session() as s:
            q = select(StepRow).where(col(StepRow.execution_id).in_(execution_ids)).order_by(StepRow.position)
            if status:
                q = q.where(StepRow.status == status)
            return list(s.exec(q))

    def escalations_of(self, execution_ids: list[str]) -> dict[tuple[str, str], int]:
        """How many escalations each (execution, step) has had."""
        if not execution_ids:
            return {}
        with self.session() as s:
            return {(eid, sid): n for eid, sid, n in s.exec(
                select(EventRow.execution_id, EventRow.step_id, func.count()).where(
                    col(EventRow.execution_id).in_(execution_ids), EventRow.kind == "escalation")
                .group_by(EventRow.execution_id, EventRow.step_id))}

    def last_runs(self) -> dict[str, ExecutionRow]:
        """The latest execution of every runbook that ran."""
        with self.session() as s:
            latest = (select(ExecutionRow.runbook_id, func.max(ExecutionRow.started_at).label("at"))
                      .group_by(ExecutionRow.runbook_id).subquery())
            rows = s.exec(select(ExecutionRow).join(latest, (col(ExecutionRow.runbook_id) == latest.c.runbook_id)
                                                    & (col(ExecutionRow.started_at) == latest.c.at)))
            return {r.runbook_id: r for r in rows}

    def alert_of_execution(self, execution_id: str) -> AlertRow | None:
        with self.session() as s:
            return s.exec(select(AlertRow).where(AlertRow.execution_id == execution_id)
                          .order_by(col(AlertRow.id))).first()

    def get_alert(self, alert_id: int) -> AlertRow | None:
        with self.session() as s:
            return s.get(AlertRow, alert_id)

    def latest_unmatched(self, alertnames: list[str | None]) -> dict[str | None, AlertRow]:
        """The latest firing alert of each name that no runbook answered, in one query."""
        unmatched = (col(AlertRow.runbook_id).is_(None), AlertRow.status == "firing")
        with self.session() as s:
            latest = (select(func.max(AlertRow.id)).where(*unmatched).group_by(AlertRow.alertname))
            rows = s.exec(select(AlertRow).where(col(AlertRow.id).in_(latest)))
            wanted = set(alertnames)
            return {r.alertname: r for r in rows if r.alertname in wanted}

    # -- incidents --------------------------------------------------------------------------------

    def incident_for(self, key: str, title: str, at: datetime, window: timedelta) -> str:
        """The open incident of `key` (its last alert within `window` of `at`), or a new one. The key's
        row is locked while deciding, so concurrent deliveries of one burst join one incident."""
        for _ in range(3):
            with self.session() as s:
                claim = s.exec(select(IncidentKeyRow).where(IncidentKeyRow.key == key).with_for_update()).first()
                if claim is not None and claim.last_at is not None and claim.last_at >= at - window:
                    claim.last_at = max(claim.last_at, at)
                    s.add(claim)
                    s.exec(update(IncidentRow).where(IncidentRow.id == claim.incident_id)  # type: ignore[call-overload]
                           .values(last_alert_at=claim.last_at))
                    s.commit()
                    return claim.incident_id
                incident_id = f"inc-{at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
                s.add(IncidentRow(id=incident_id, key=key, title=title[:512], opened_at=at, last_alert_at=at))
                if claim is None:
                    s.add(IncidentKeyRow(key=key, incident_id=incident_id, last_at=at))
                else:
                    claim.incident_id, claim.last_at = incident_id, at
                    s.add(claim)
                try:
                    s.commit()
                    return incident_id
                except IntegrityError:  # another delivery opened it in between: join that one
                    s.rollback()
        raise RuntimeError(f"could not open or join an incident for {key}")

    def incident_of_fingerprint(self, fingerprint: str) -> str | None:
        """The incident of the latest firing delivery of an alert (its resolution joins that incident)."""
        with self.session() as s:
            return s.exec(select(AlertRow.incident_id).where(
                AlertRow.fingerprint == fingerprint, AlertRow.status == "firing", col(AlertRow.incident_id).is_not(None))
                .order_by(col(AlertRow.id).desc())).first()

    def incidents(self, limit: int = 100) -> list[IncidentRow]:
        with self.session() as s:
            return list(s.exec(select(IncidentRow).order_by(col(IncidentRow.last_alert_at).desc()).limit(limit)))

    def incident(self, incident_id: str) -> IncidentRow | None:
        with self.session() as s:
            return s.get(IncidentRow, incident_id)

    def alerts_of_incidents(self, incident_ids: list[str]) -> list[AlertRow]:
        if not incident_ids:
            return []
        with self.session() as s:
            return list(s.exec(select(AlertRow).where(col(AlertRow.incident_id).in_(incident_ids))
                               .order_by(col(AlertRow.id))))

    def incident_responders(self, incident_id: str) -> list[Responder]:
        """The incident's alerts whose runbook is running for them now (open executions only)."""
        with self.session() as s:
            rows = s.exec(select(AlertRow.alertname, ExecutionRow.runbook_id, ExecutionRow.id, AlertRow.starts_at)
                          .join(ExecutionRow, col(ExecutionRow.id) == col(AlertRow.execution_id))
                          .where(AlertRow.incident_id == incident_id,
                                 col(ExecutionRow.status).in_(LIVE_STATUSES)))
            return [Responder(alertname=name or "alert", runbook_id=rid, execution_id=eid, starts_at=at)
                    for name, rid, eid, at in rows]

    def executions_by_id(self, execution_ids: list[str]) -> list[ExecutionRow]:
        if not execution_ids:
            return []
        with self.session() as s:
            return list(s.exec(select(ExecutionRow).where(col(ExecutionRow.id).in_(execution_ids))
                               .order_by(col(ExecutionRow.started_at))))

    # -- notes ------------------------------------------------------------------------------------

    def add_note(self, row: NoteRow) -> NoteRow:
        row.text = mask(row.text) or ""
        row.command = mask(row.command) if row.command else None
        with self.session() as s:
            s.add(row)
            self._touch(s, row.execution_id)
            s.commit()
            s.refresh(row)
            return row

    def add_drill(self, row: DrillRow) -> DrillRow:
        with self.session() as s:
            s.add(row)
            s.commit()
            s.refresh(row)
            return row

    def drill(self, drill_id: str) -> DrillRow | None:
        with self.session() as s:
            return s.get(DrillRow, drill_id)

    def drill_of_execution(self, execution_id: str) -> DrillRow | None:
        with self.session() as s:
            return s.exec(select(DrillRow).where(DrillRow.execution_id == execution_id)).first()

    def drills(self, runbook_id: str | None = None, limit: int = 100) -> list[DrillRow]:
        """Drills, newest first (of one runbook, when given)."""
        with self.session() as s:
            query = select(DrillRow)
            if runbook_id is not None:
                query = query.where(DrillRow.runbook_id == runbook_id)
            return list(s.exec(query.order_by(col(DrillRow.started_at).desc()).limit(limit)))

    def execution_of_thread(self, channel: str, ts: str) -> str | None:
        """The execution whose Slack thread has this root message."""
        with self.session() as s:
            return s.exec(select(SlackMessageRow.execution_id).where(
                SlackMessageRow.channel == channel, SlackMessageRow.ts == ts, SlackMessageRow.step_id == "")).first()

    def notes_of(self, execution_ids: list[str]) -> list[NoteRow]:
        if not execution_ids:
            return []
        with self.session() as s:
            return list(s.exec(select(NoteRow).where(col(NoteRow.execution_id).in_(execution_ids))
                               .order_by(col(NoteRow.id))))

    def failed_runs(self, runbook_id: str, step_ids: list[str], limit: int = 2000) -> dict[str, set[str]]:
        """For each of these steps, the runs of the runbook (newest first, up to `limit`) in which it failed."""
        if not step_ids:
            return {}
        with self.session() as s:
            rows = s.exec(select(StepRow.step_id, StepRow.execution_id)
                          .join(ExecutionRow, col(ExecutionRow.id) == col(StepRow.execution_id))
                          .where(ExecutionRow.runbook_id == runbook_id, *REAL_RUN, StepRow.status == "failed",
                                 col(StepRow.step_id).in_(step_ids))
                          .order_by(col(ExecutionRow.started_at).desc()).limit(limit))
            out: dict[str, set[str]] = {}
            for step_id, execution_id in rows:
                out.setdefault(step_id, set()).add(execution_id)
            return out

    def commands_run_by_hand(self, runbook_id: str, limit: int = 2000) -> list[NoteRow]:
        """Notes on this runbook's executions that name a command run by hand, newest first."""
        with self.session() as s:
            return list(s.exec(select(NoteRow).join(ExecutionRow, col(ExecutionRow.id) == col(NoteRow.execution_id))
                               .where(ExecutionRow.runbook_id == runbook_id, *REAL_RUN,
                                      col(NoteRow.command).is_not(None))
                               .order_by(col(NoteRow.id).desc()).limit(limit)))

    # -- people's choices -------------------------------------------------------------------------

    def set_pairing(self, row: PairingRow) -> None:
        """Record (or replace) the runbook people chose for an alert name."""
        with self.session() as s:
            s.merge(row)
            s.commit()

    def pairings(self) -> list[PairingRow]:
        with self.session() as s:
            return list(s.exec(select(PairingRow).order_by(col(PairingRow.chosen_at).desc())))

    def remove_pairing(self, alertname: str) -> PairingRow | None:
        with self.session() as s:
            row = s.get(PairingRow, alertname)
            if row is not None:
                s.delete(row)
                s.commit()
            return row

    def attach_alert(self, alert_id: int, runbook_id: str, execution_id: str) -> None:
        """An alert answered by hand: it has a runbook now, and its resolution reaches the execution."""
        with self.session() as s:
            s.exec(update(AlertRow).where(AlertRow.id == alert_id)  # type: ignore[call-overload]
                   .values(runbook_id=runbook_id, execution_id=execution_id, held_by=None))
            s.commit()

    # -- suggestions ------------------------------------------------------------------------------

    def supplied_values(self, runbook_id: str, limit: int = 2000) -> list[Supplied]:
        """Values people typed into approvals of this runbook's runs (newest first), with the labels
        of the alert each run answered."""
        with self.session() as s:
            rows = s.exec(select(ApprovalRow.execution_id, ApprovalRow.step_id, ApprovalRow.values, AlertRow.labels)
                          .join(ExecutionRow, col(ExecutionRow.id) == col(ApprovalRow.execution_id))
                          .join(AlertRow, col(AlertRow.execution_id) == col(ApprovalRow.execution_id))
                          .where(ExecutionRow.runbook_id == runbook_id, *REAL_RUN,
                                 col(ApprovalRow.approved).is_(True))
                          .order_by(col(ApprovalRow.id).desc()).limit(limit))
            seen: set[tuple[str, str]] = set()
            out = []
            for execution_id, step_id, values, labels in rows:
                if values and (execution_id, step_id) not in seen:  # an execution answers several deliveries
                    seen.add((execution_id, step_id))
                    out.append(Supplied(execution_id, step_id, dict(values), dict(labels or {})))
            return out

    def step_history(self, runbook_id: str, limit: int = 50) -> dict[str, list[Outcome]]:
        """Each step's latest runs in this runbook's real executions (newest first): earned trust."""
        with self.session() as s:
            rows = s.exec(select(StepRow.step_id, ExecutionRow.id, ExecutionRow.started_at, StepRow.status,
                                 StepRow.rollback_status, ApprovalRow.approved, ApprovalRow.actor)
                          .join(ExecutionRow, col(ExecutionRow.id) == col(StepRow.execution_id))
                          .outerjoin(ApprovalRow, (col(ApprovalRow.execution_id) == col(StepRow.execution_id))
                                     & (col(ApprovalRow.step_id) == col(StepRow.step_id)))
                          .where(ExecutionRow.runbook_id == runbook_id, *REAL_RUN,
                                 col(StepRow.status).in_(("succeeded", "failed", "rejected")))
                          .order_by(col(ExecutionRow.started_at).desc()).limit(limit * 20))
            out: dict[str, list[Outcome]] = {}
            for step_id, execution_id, at, status, rollback_status, approved, actor in rows:
                runs = out.setdefault(step_id, [])
                if len(runs) < limit:
                    runs.append(Outcome(execution_id=execution_id, at=at, status=status,
                                        rolled_back=rollback_status is not None,
                                        approved_by=actor if approved else None))
            return out

    def dismissed(self, runbook_id: str) -> dict[str, DismissalRow]:
        with self.session() as s:
            return {d.suggestion_id: d for d in s.exec(select(DismissalRow).where(DismissalRow.runbook_id == runbook_id))}

    def dismiss(self, row: DismissalRow) -> None:
        with self.session() as s:
            s.merge(row)
            s.commit()

    # -- insights ---------------------------------------------------------------------------------

    def _median(self, s: Session, values: Any) -> float | None:
        """The median of a one-column select: computed by PostgreSQL (percentile_cont, the same
        interpolation as statistics.median), so 10,000 values never cross the wire; in Python on SQLite."""
        if self.engine.dialect.name == "postgresql":
            column = list(values.subquery().c)[0]
            found = s.exec(select(func.percentile_cont(0.5).within_group(column))).first()
            return float(found) if found is not None else None
        found = [float(x) for x in s.exec(values) if x is not None]
        return statistics.median(found) if found else None

    def _seconds(self, later: Any, earlier: Any) -> Any:
        """`later - earlier` in seconds, computed by the database (10,000 rows need no Python datetimes)."""
        if self.engine.dialect.name == "postgresql":
            return func.extract("epoch", later - earlier)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def insight_stamp(self, runbook_id: str) -> tuple:
        """What changes whenever a runbook's insight facts may: its runs (how many, the latest write
        about one) and the alerts received (the same alerts handled without it)."""
        with self.session() as s:
            runs = s.exec(select(func.count(), func.max(ExecutionRow.updated_at)).where(
                ExecutionRow.runbook_id == runbook_id)).one()
            return (*runs, s.exec(select(func.max(AlertRow.id))).one())

    def _run_facts(self, facts: InsightFacts, real: tuple) -> None:
        """The execution-level facts: outcomes, medians, and the newest failures with their output's end."""
        tail = (func.right(StepRow.output, 300) if self.engine.dialect.name == "postgresql"
                else func.substr(StepRow.output, -300))
        with self.session() as s:
            facts.by_status = {st: n for st, n in s.exec(
                select(ExecutionRow.status, func.count()).where(*real).group_by(ExecutionRow.status))}
            facts.last_success_at = s.exec(select(func.max(ExecutionRow.finished_at)).where(
                *real, ExecutionRow.status == "succeeded")).first()
            facts.resolve_median = self._median(s, select(self._seconds(ExecutionRow.resolved_at, ExecutionRow.started_at))
                                                .where(*real, col(ExecutionRow.resolved_at).is_not(None),
                                                       col(ExecutionRow.started_at).is_not(None)))
            names = select(ExecutionRow.alertname).where(*real, col(ExecutionRow.alertname).is_not(None)).distinct()
            handled = select(AlertRow.fingerprint).where(col(AlertRow.execution_id).is_not(None))
            facts.resolve_without_median = self._median(s, select(self._seconds(AlertRow.received_at, AlertRow.starts_at))
                                                        .where(AlertRow.status == "resolved",
                                                               col(AlertRow.alertname).in_(names),
                                                               col(AlertRow.fingerprint).not_in(handled),
                                                               col(AlertRow.starts_at).is_not(None),
                                                               col(AlertRow.received_at) >= col(AlertRow.starts_at)))
            # per execution: from its start to the first approval a person gave (never below zero)
            facts.approve_median = self._median(s, select(
                func.max(self._seconds(func.min(ApprovalRow.decided_at), func.min(ExecutionRow.started_at)), 0.0)
                if self.engine.dialect.name == "sqlite" else
                func.greatest(self._seconds(func.min(ApprovalRow.decided_at), func.min(ExecutionRow.started_at)), 0.0))
                .join(ExecutionRow, col(ExecutionRow.id) == col(ApprovalRow.execution_id))
                .where(*real, col(ApprovalRow.approved).is_(True), ApprovalRow.actor != TIMER_ACTOR)
                .group_by(ApprovalRow.execution_id))
            facts.failures = [Failure(step_id, exit_code, text or "", at) for step_id, exit_code, text, at in s.exec(
                select(StepRow.step_id, StepRow.exit_code, tail, ExecutionRow.started_at)
                .join(ExecutionRow, col(StepRow.execution_id) == col(ExecutionRow.id))
                .where(*real, StepRow.status == "failed").order_by(col(ExecutionRow.started_at).desc()).limit(500))]

    def insight_facts(self, runbook_id: str) -> InsightFacts:
        """One runbook's executions as `runbooks.insights` reads them, in a few aggregate queries
        (dry runs and drills left out). On PostgreSQL the per-step aggregate, the heaviest (a join
        of every step record), runs on a second connection while the others run on the first."""
        real = (ExecutionRow.runbook_id == runbook_id, *REAL_RUN)
        row = self.runbook_row(runbook_id)
        facts = InsightFacts(runbook_id=runbook_id, created_at=row.created_at if row else None)
        succeeded_at: dict[str, datetime] = {}

        def per_step() -> None:
            with self.session() as s:
                for step_id, status, n, title, position, last in s.exec(
                        select(StepRow.step_id, StepRow.status, func.count(), func.max(StepRow.title),
                               func.max(StepRow.position), func.max(ExecutionRow.started_at))
                        .join(ExecutionRow, col(StepRow.execution_id) == col(ExecutionRow.id)).where(*real)
                        .group_by(StepRow.step_id, StepRow.status)):
                    facts.steps.setdefault(step_id, {})[status] = n
                    facts.titles[step_id], facts.positions[step_id] = title, position
                    if status == "succeeded":
                        succeeded_at[step_id] = last

        if self.engine.dialect.name == "postgresql":
            with ThreadPoolExecutor(max_workers=1) as beside:
                steps = beside.submit(per_step)
                self._run_facts(facts, real)
                steps.result()
        else:
            per_step()
            self._run_facts(facts, real)
        for f in facts.failures:  # newest first: the first seen per step is its newest failure
            if f.step_id not in facts.latest_status:
                last_ok = succeeded_at.get(f.step_id)
                failed_last = last_ok is None or (f.at is not None and f.at >= last_ok)
                facts.latest_status[f.step_id] = "failed" if failed_last else "succeeded"
        return facts
