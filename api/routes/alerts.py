"""Alert webhooks: every alert is recorded; a firing one starts the runbook that answers it."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends

from api.deps import Services, services
from api.schemas import AlertmanagerAlert, AlertmanagerWebhook, AlertsAccepted
from runbooks.alert import Alert, label_fingerprint
from runbooks.db import AlertRow, utcnow
from runbooks.execution import ResolvedNotice
from runbooks.matcher import match_alert

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
log = logging.getLogger("runbooks.api")


def from_alertmanager(a: AlertmanagerAlert) -> Alert:
    return Alert(source="alertmanager", fingerprint=a.fingerprint or label_fingerprint(a.labels), status=a.status,
                 labels=a.labels, annotations=a.annotations, starts_at=a.startsAt, raw=a.model_dump(mode="json"))


@router.post("/alertmanager", status_code=202, response_model=AlertsAccepted)
async def alertmanager_webhook(payload: AlertmanagerWebhook, svc: Services = Depends(services)) -> AlertsAccepted:
    """Prometheus Alertmanager webhook (v4). A re-delivered firing alert never starts a second execution."""
    accepted = AlertsAccepted(executions=[], unmatched=[])
    rows: list[AlertRow] = []
    try:
        await _handle(payload, svc, accepted, rows)
    finally:  # recorded even when starting failed half-way: no alert is dropped silently
        await asyncio.to_thread(svc.store.record_alerts, rows)
    return accepted


async def _handle(payload: AlertmanagerWebhook, svc: Services, accepted: AlertsAccepted, rows: list[AlertRow]) -> None:
    for alert in map(from_alertmanager, payload.alerts):
        row = AlertRow(source=alert.source, fingerprint=alert.fingerprint, status=alert.status,
                       alertname=alert.alertname, labels=alert.labels, annotations=alert.annotations,
                       starts_at=alert.starts_at, received_at=utcnow(), raw=alert.raw)
        rows.append(row)
        if not alert.firing:
            for execution_id in await asyncio.to_thread(svc.store.open_executions_for_alert, alert.fingerprint):
                handle = svc.client.get_workflow_handle(execution_id)
                await handle.signal("alert_resolved", ResolvedNotice(fingerprint=alert.fingerprint))
                accepted.resolved.append(execution_id)
                row.execution_id = execution_id
            continue
        match = match_alert(alert.labels, svc.catalog.runbooks)
        if match is None:
            accepted.unmatched.append(alert.fingerprint)
            log.info("no runbook answers alert %s (%s)", alert.alertname, alert.fingerprint)
            continue
        ref = await svc.launcher.start(match.runbook, match.version, match.runbook.mode, alert=alert)
        row.execution_id, row.runbook_id = ref.id, ref.runbook_id
        accepted.executions.append(ref)
