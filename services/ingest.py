"""From a source's delivery to executions: verify, record every alert, match, start exactly once, resolve.

The one path for every source webhook. `parse_delivery` verifies and normalizes through the
source's adapter and keeps a malformed delivery (with the reason) for a person to look at; `ingest`
records every alert and starts or resolves executions. Deduplication never relies on a
read-then-write race: the execution id (or the group claim) is a primary key, and Temporal's
workflow-id policy backs it up. A small in-process cache only spares the database the known
duplicates of an alert storm.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging

from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from runbooks.alert import Alert
from runbooks.incidents import incident_key
from runbooks.contract import ResolvedNotice, Signal
from runbooks.storage.tables import AlertRow, RejectedDelivery, utcnow
from runbooks.telemetry.metrics import ALERTS_RECEIVED, DELIVERIES_REJECTED
from services.context import Services
from services.errors import NotFound, TooLarge, Unavailable
from services.launch import ExecutionRef, execution_id_for
from services.sources import REGISTRY, Delivery, SourceError

log = logging.getLogger("runbooks.api")
MAX_BODY = 16 * 1024 * 1024
KEPT_BODY = 1024 * 1024
SECRET_HEADERS = {"authorization", "x-pagerduty-signature", "x-signature-256", "x-living-runbooks-token", "cookie"}


class AlertsAccepted(BaseModel):
    executions: list[ExecutionRef]
    unmatched: list[str] = Field(description="fingerprints of firing alerts no runbook answers")
    resolved: list[str] = Field(default_factory=list, description="executions told that their alert resolved")


async def parse_delivery(svc: Services, delivery: Delivery) -> list[Alert]:
    """Verify and normalize one delivery; refuse it (SourceError with the reason) without starting anything."""
    adapter = REGISTRY.get(delivery.source)
    if adapter is None:
        DELIVERIES_REJECTED.labels(source="unknown", code="404").inc()  # the path is free text: bounded label
        raise NotFound(f"unknown alert source {delivery.source!r}; one of: {', '.join(sorted(REGISTRY))}")
    if len(delivery.body) > MAX_BODY:
        DELIVERIES_REJECTED.labels(source=delivery.source, code="413").inc()
        raise TooLarge(f"delivery larger than {MAX_BODY} bytes")
    try:
        return await asyncio.to_thread(adapter, delivery, svc.settings)  # a 10,000-alert body takes CPU
    except SourceError as exc:
        log.warning("refused %s delivery: %s", delivery.source, exc.reason)
        DELIVERIES_REJECTED.labels(source=delivery.source, code=str(exc.status)).inc()
        if exc.status not in (401, 500):  # unauthenticated junk, or our own misconfiguration
            await asyncio.to_thread(svc.store.record_rejected, RejectedDelivery(
                source=delivery.source, status=exc.status, reason=exc.reason, received_at=utcnow(),
                headers={k: v for k, v in delivery.headers.items() if k not in SECRET_HEADERS},
                body=delivery.body[:KEPT_BODY].decode("utf-8", errors="replace")))
        raise


async def receive(svc: Services, delivery: Delivery) -> AlertsAccepted:
    """A source's webhook delivery, end to end. A re-delivered firing alert never starts a second execution.

    Without the database the delivery is refused with 503, which every source retries: an execution
    may have started for an alert before the database went away, and the retry finds it.
    """
    try:
        return await ingest(svc, await parse_delivery(svc, delivery))
    except OperationalError as exc:
        log.warning("refused a %s delivery: the database is unreachable (%s)", delivery.source, exc.orig)
        DELIVERIES_REJECTED.labels(source=delivery.source, code="503").inc()
        raise Unavailable("the database is unreachable; the delivery was not recorded, retry later") from None


async def ingest(svc: Services, alerts: list[Alert]) -> AlertsAccepted:
    """Every alert is recorded, even when starting its execution fails half-way (then the source retries)."""
    await svc.catalog.current_pairings()
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
            row.incident_id = await _incident(svc, alert, row)
    finally:
        await asyncio.to_thread(svc.store.record_alerts, rows)
    return accepted


async def _incident(svc: Services, alert: Alert, row: AlertRow) -> str | None:
    """The incident this alert belongs to (runbooks/incidents.py); a resolution joins its firing's."""
    if not alert.firing:
        return await asyncio.to_thread(svc.store.incident_of_fingerprint, alert.fingerprint)
    matched = svc.catalog.runbooks.get(row.runbook_id) if row.runbook_id else None
    key = incident_key(alert.labels, svc.settings.incident_labels, matched[0].group_by if matched else ())
    title = f"{alert.alertname or 'alert'} on {key}"
    window = timedelta(seconds=svc.settings.incident_window_seconds)
    return await asyncio.to_thread(svc.store.incident_for, key, title, row.received_at or utcnow(), window)


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
                Signal.ALERT_RESOLVED, ResolvedNotice(fingerprint=alert.fingerprint))
        except Exception as exc:  # an execution that just ended: nothing left to tell
            log.info("could not tell %s that its alert resolved: %s", execution_id, exc)
            continue
        accepted.resolved.append(execution_id)
        row.execution_id = execution_id
