"""Start a runbook execution exactly once, from an alert or by hand.

The execution id is derived from (runbook, alert name, fingerprint, start of the firing), and
Temporal's workflow-id policy turns a re-delivered alert into the execution that already runs. The
database follows Temporal, never the other way round: the workflow is started first and its row is
written after it (and by the workflow's own first save), so a crash between the two leaves nothing
that a re-delivery would trust without a workflow behind it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from runbooks.alert import Alert
from runbooks.contract import AlertRef, ExecutionInput, ExecutionStatus, PlannedStep
from runbooks.earned_trust import demoted
from runbooks.model import Mode, Runbook
from runbooks.rendering.planning import build_context, plan_steps
from runbooks.settings import Settings
from runbooks.storage.store import Store
from runbooks.storage.tables import ExecutionRow, utcnow
from runbooks.telemetry.metrics import EXECUTIONS_STARTED
from services.errors import MissingValues, Unavailable
from workflows import search_attributes as sa
from workflows.runbook_execution import RunbookExecution


class ExecutionRef(BaseModel):
    """An execution a start found or made: new, or the one already running for this alert."""

    id: str
    runbook_id: str
    status: str


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "x"


def execution_id_for(runbook: Runbook, alert: Alert | None) -> str:
    """(runbook, alert name, fingerprint, start of the firing): a re-delivery maps to the same id.

    With `group_by`, alerts share an execution per group while it runs, so the id is new per run
    and exactness comes from the group claim instead.
    """
    if alert is None:
        return f"{_safe(runbook.id)}.manual.{uuid.uuid4().hex[:12]}"
    if runbook.group_by:
        digest = hashlib.sha256(group_key_for(runbook, alert).encode()).hexdigest()[:12]
        return f"{_safe(runbook.id)}.{_safe(alert.alertname or 'alert')}.group-{digest}.{uuid.uuid4().hex[:8]}"
    since = int(alert.starts_at.timestamp()) if alert.starts_at else 0
    return f"{_safe(runbook.id)}.{_safe(alert.alertname or 'alert')}.{_safe(alert.fingerprint)}.{since}"


def group_key_for(runbook: Runbook, alert: Alert) -> str:
    return runbook.id + "|" + "|".join(f"{k}={alert.labels.get(k, '')}" for k in runbook.group_by)


class Launcher:
    """Starts executions; raises MissingValues (a manual start lacks values) or Unavailable (Temporal)."""

    def __init__(self, client: Client, store: Store, settings: Settings):
        self.client, self.store, self.settings = client, store, settings

    async def start(self, runbook: Runbook, version: int, mode: Mode, *, alert: Alert | None = None,
                    params: dict[str, str] | None = None, started_by: str = "alert", drill: bool = False,
                    drill_target: str | None = None) -> ExecutionRef:
        """`drill`: a fire drill (services/drills.py) with its own execution, outside any group."""
        params = params or {}
        # A manual start supplies the values an alert would have: params also fill {{ labels.x }}.
        context = build_context(alert.labels if alert else params, alert.annotations if alert else {}, params)
        steps = await self._demoted(runbook, plan_steps(runbook, context))
        if alert is None and any(s.render_error or s.needs for s in steps):
            raise MissingValues({s.id: s.render_error or f"needs {', '.join(s.needs)}"
                                 for s in steps if s.render_error or s.needs})
        execution_id = (f"{_safe(runbook.id)}.drill.{uuid.uuid4().hex[:12]}" if drill
                        else execution_id_for(runbook, alert))
        group_key = group_key_for(runbook, alert) if alert is not None and runbook.group_by and not drill else None
        claimed = False
        if group_key is not None:
            held = await asyncio.to_thread(self.store.claim_group, group_key, execution_id)
            claimed = held is None
            execution_id = held or execution_id  # a held group: this alert joins its execution
        # A row exists only once its workflow was started, so a row found is an execution that runs or ran.
        status = await asyncio.to_thread(self.store.execution_status, execution_id)
        if status is not None:
            return ExecutionRef(id=execution_id, runbook_id=runbook.id, status=status)
        inp = ExecutionInput(
            execution_id=execution_id, runbook_id=runbook.id, runbook_version=version, runbook_title=runbook.title,
            service=runbook.service, mode=mode, steps=steps, escalation=runbook.escalation, params=params,
            started_by=started_by, heartbeat_timeout_seconds=self.settings.heartbeat_timeout_seconds,
            agent_offline_after_seconds=self.settings.agent_offline_after_seconds,
            notify=self.settings.slack_enabled, drill=drill, drill_target=drill_target,
            concurrency=runbook.concurrency, max_errors=runbook.max_errors,
            alert=AlertRef(source=alert.source, fingerprint=alert.fingerprint, alertname=alert.alertname,
                           severity=alert.severity, labels=alert.labels, annotations=alert.annotations)
            if alert else None)
        try:
            started = await self._start_workflow(runbook, version, mode, inp, alert)
        except RPCError as exc:
            if claimed:
                await asyncio.to_thread(self.store.release_group, group_key, execution_id)  # let the source retry
            raise Unavailable(f"Temporal did not start the execution (nothing ran; retry later): {exc.message}") from None
        if started and not drill:  # a drill is a rehearsal: it counts in no figure
            EXECUTIONS_STARTED.labels(runbook_id=runbook.id).inc()
        # Written after the start: a crash before this line leaves a workflow whose own first save writes the
        # row (with the same facts), and a re-delivery lands here again and finds or completes it.
        row = ExecutionRow(
            id=execution_id, runbook_id=runbook.id, runbook_version=version, mode=mode.value,
            status=ExecutionStatus.running.value, alertname=alert.alertname if alert else None,
            alert_fingerprint=alert.fingerprint if alert else None, params=params, started_by=started_by,
            group_key=group_key, started_at=utcnow(), drill=drill)
        status = await asyncio.to_thread(self.store.record_execution, row)
        return ExecutionRef(id=execution_id, runbook_id=runbook.id, status=status)

    async def _demoted(self, runbook: Runbook, steps: list[PlannedStep]) -> list[PlannedStep]:
        """A step that runs by itself (earned trust) asks again once its latest run went wrong."""
        if not any(s.flow.auto for s in steps):
            return steps
        history = await asyncio.to_thread(self.store.step_history, runbook.id)
        return [s.model_copy(update={"flow": s.flow.model_copy(update={"auto": False})})
                if s.flow.auto and demoted(history.get(s.id, [])) else s for s in steps]

    async def _start_workflow(self, runbook: Runbook, version: int, mode: Mode, inp: ExecutionInput,
                              alert: Alert | None) -> bool:
        """Start the workflow or find it: Temporal's workflow-id policy is the exact deduplication.

        True when this call started it; False when it was running (USE_EXISTING attaches to it) or
        ran before under this id (a closed run is never started again).
        """
        attrs = [SearchAttributePair(sa.RUNBOOK_ID, runbook.id), SearchAttributePair(sa.EXECUTION_STATUS, "running")]
        for key, value in ((sa.ALERT_NAME, alert.alertname if alert else "manual"),
                           (sa.SERVICE, runbook.service or (alert.labels.get("service") if alert else None)),
                           (sa.SEVERITY, alert.severity if alert else None)):
            if value:
                attrs.append(SearchAttributePair(key, value))
        try:
            handle = await self.client.start_workflow(
                RunbookExecution.run, inp, id=inp.execution_id, task_queue=self.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes(attrs),
                static_summary=f"{'DRILL: ' if inp.drill else ''}{runbook.title} ({mode.value})",
                static_details=f"runbook {runbook.id} v{version}; "
                               f"alert {alert.alertname if alert else 'none'}; started by {inp.started_by}")
        except WorkflowAlreadyStartedError:
            return False
        response = getattr(handle, "_start_workflow_response", None)  # the SDK keeps the server's answer here
        return bool(getattr(response, "started", True))
