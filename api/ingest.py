"""From normalized alerts to executions: record every delivery, match, start exactly once, resolve.

Shared by every source webhook. Deduplication never relies on a read-then-write race: the
execution id (or the group claim) is a primary key, and Temporal's workflow-id policy backs it up.
A small in-process cache only spares the database the known duplicates of an alert storm.
"""

from __future__ import annotations

import asyncio
import logging

from api.deps import Services
from api.launcher import execution_id_for
from api.metrics import ALERTS_RECEIVED
from api.schemas import AlertsAccepted, ExecutionRef
from runbooks.alert import Alert
from runbooks.db import AlertRow, utcnow
from runbooks.execution import ResolvedNotice

log = logging.getLogger("runbooks.api")


async def ingest(svc: Services, alerts: list[Alert]) -> AlertsAccepted:
    """Every alert is recorded, even when starting its execution fails half-way (then the source retries)."""
    accepted = AlertsAccepted(executions=[], unmatched=[])
    rows: list[AlertRow] = []
    try:
        for alert in alerts:
            row = AlertRow(source=alert.source, fingerprint=alert.fingerprint, status=alert.status,
                           alertname=alert.alertname, labels=alert.labels, annotations=alert.annotations,
                           starts_at=alert.starts_at, received_at=utcnow(), raw=alert.raw)
            rows.append(row)
            ALERTS_RECEIVED.labels(source=alert.source, status=alert.status).inc()
            if alert.firing:
                await _fire(svc, alert, row, accepted)
            else:
                await _resolve(svc, alert, row, accepted)
    finally:
        await asyncio.to_thread(svc.store.record_alerts, rows)
    return accepted


async def _fire(svc: Services, alert: Alert, row: AlertRow, accepted: AlertsAccepted) -> None:
    match = svc.catalog.match(alert.labels, alert.annotations)
    if match is None:
        accepted.unmatched.append(alert.fingerprint)
        return
    runbook, version = match
    row.runbook_id = runbook.id
    if not runbook.group_by:
        execution_id = execution_id_for(runbook, alert)
        if svc.known.get(execution_id):  # a repeat of this storm: the execution exists already
            status = await asyncio.to_thread(svc.store.execution_status, execution_id)
            row.execution_id = execution_id
            accepted.executions.append(ExecutionRef(id=execution_id, runbook_id=runbook.id, status=status or "running"))
            return
    ref = await svc.launcher.start(runbook, version, runbook.mode, alert=alert)
    svc.known.add(ref.id, runbook.id)
    row.execution_id = ref.id
    accepted.executions.append(ref)


async def _resolve(svc: Services, alert: Alert, row: AlertRow, accepted: AlertsAccepted) -> None:
    for execution_id in await asyncio.to_thread(svc.store.open_executions_for_alert, alert.fingerprint):
        try:
            await svc.client.get_workflow_handle(execution_id).signal(
                "alert_resolved", ResolvedNotice(fingerprint=alert.fingerprint))
        except Exception as exc:  # an execution that just ended: nothing left to tell
            log.info("could not tell %s that its alert resolved: %s", execution_id, exc)
            continue
        accepted.resolved.append(execution_id)
        row.execution_id = execution_id
