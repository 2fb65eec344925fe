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
import logging
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from runbooks.alert import Alert
from runbooks.contract import LIVE_STATUSES, ResolvedNotice, Signal
from runbooks.incidents import Responder, epoch, hold_reason, incident_key, likely_root_cause
from runbooks.model import Runbook
from runbooks.storage.tables import AlertRow, RejectedDelivery, utcnow
from runbooks.telemetry.metrics import ALERTS_RECEIVED, DELIVERIES_REJECTED
from services.context import Services
from services.errors import NotFound, TooLarge, Unavailable
from services.reports import announce_ended
from services.launch import ExecutionRef, execution_id_for, group_key_for
from services.sources import REGISTRY, Delivery, SourceError

log = logging.getLogger("runbooks.api")
MAX_BODY = 16 * 1024 * 1024
KEPT_BODY = 1024 * 1024
SECRET_HEADERS = {"authorization", "x-pagerduty-signature", "x-signature-256", "x-living-runbooks-token", "cookie"}


class HeldAlert(BaseModel):
    fingerprint: str
    runbook_id: str = Field(description="the runbook that answers it, waiting as a suggestion")
    root_cause_execution: str = Field(description="the execution for the incident's likely root cause, run first")
    reason: str


class AlertsAccepted(BaseModel):
    executions: list[ExecutionRef]
    unmatched: list[str] = Field(description="fingerprints of firing alerts no runbook answers")
    resolved: list[str] = Field(default_factory=list, description="executions told that their alert resolved")
    asked: list[str] = Field(default_factory=list, description="unmatched alerts matching is unsure about: a person "
                             "chooses among the top 3 (the cockpit's Alerts page, \"Which runbook?\")")
    held: list[HeldAlert] = Field(default_factory=list, description="matched alerts of an incident whose likely "
                                  "root cause runs first: they wait as suggestions (GET /api/v1/incidents/{id})")


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
    """Every alert is recorded, even when starting its execution fails half-way (then the source retries).

    Firing alerts are taken in the order they began (a delivery of several is one moment of an
    incident): the earliest, the likely root cause, starts first and the others can wait for it.
    """
    await svc.catalog.current_pairings()
    accepted = AlertsAccepted(executions=[], unmatched=[])
    rows: list[AlertRow] = []
    started: list[tuple[AlertRow, str]] = []  # this delivery's starts, not in the database yet
    try:
        for alert in sorted(alerts, key=lambda a: (a.starts_at is None, epoch(a.starts_at))):
            row = AlertRow(source=alert.source, fingerprint=alert.fingerprint, status=alert.status,
                           alertname=alert.alertname, labels=alert.labels, annotations=alert.annotations,
                           starts_at=alert.starts_at, received_at=utcnow(), raw=alert.raw)
            rows.append(row)
            ALERTS_RECEIVED.labels(source=alert.source, status=alert.status).inc()
            if alert.firing:
                await _fire(svc, alert, row, accepted, started)
            else:
                await _resolve(svc, alert, row, accepted)
                row.incident_id = await asyncio.to_thread(svc.store.incident_of_fingerprint, alert.fingerprint)
    finally:
        await asyncio.to_thread(svc.store.record_alerts, rows)
    await announce_ended(svc, {r.incident_id for r in rows if r.status == "resolved" and r.incident_id})
    return accepted


async def _incident(svc: Services, alert: Alert, row: AlertRow, runbook: Runbook | None) -> str:
    """The incident this firing alert belongs to (runbooks/incidents.py)."""
    key = incident_key(alert.labels, svc.settings.incident_labels, runbook.group_by if runbook else ())
    title = f"{alert.alertname or 'alert'} on {key}"
    window = timedelta(seconds=svc.settings.incident_window_seconds)
    return await asyncio.to_thread(svc.store.incident_for, key, title, row.received_at or utcnow(), window)


async def _root_cause(svc: Services, alert: Alert, row: AlertRow, runbook: Runbook,
                      started: list[tuple[AlertRow, str]]) -> Responder | None:
    """Another runbook of this incident, running for an alert that began earlier: it goes first."""
    if alert.starts_at is None or row.incident_id is None:
        return None
    running = await asyncio.to_thread(svc.store.incident_responders, row.incident_id)
    running += [Responder(alertname=r.alertname or "alert", runbook_id=rid, execution_id=r.execution_id or "",
                          starts_at=r.starts_at) for r, rid in started if r.incident_id == row.incident_id]
    return likely_root_cause(runbook.id, alert.starts_at, running)


async def _answered(svc: Services, runbook: Runbook, alert: Alert) -> bool:
    """This alert's runbook already runs for it (a re-delivery), or for its group: it is not held then."""
    if runbook.group_by:
        return await asyncio.to_thread(svc.store.group_holder, group_key_for(runbook, alert)) is not None
    return await asyncio.to_thread(svc.store.execution_status, execution_id_for(runbook, alert)) is not None


async def _fire(svc: Services, alert: Alert, row: AlertRow, accepted: AlertsAccepted,
                started: list[tuple[AlertRow, str]]) -> None:
    outcome = svc.catalog.outcome(alert.labels, alert.annotations, generator_url=alert.generator_url)
    match = svc.catalog.runbooks.get(outcome.runbook_id) if outcome.runbook_id else None
    row.incident_id = await _incident(svc, alert, row, match[0] if match else None)
    if match is None:
        accepted.unmatched.append(alert.fingerprint)
        if outcome.ask:
            accepted.asked.append(alert.fingerprint)
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
    root = await _root_cause(svc, alert, row, runbook, started)
    if root is not None and alert.starts_at is not None and not await _answered(svc, runbook, alert):
        row.held_by = root.execution_id
        row.hold_reason = hold_reason(alert.alertname or "alert", runbook.id, alert.starts_at, root)
        accepted.held.append(HeldAlert(fingerprint=alert.fingerprint, runbook_id=runbook.id,
                                       root_cause_execution=root.execution_id, reason=row.hold_reason))
        return
    ref = await svc.launcher.start(runbook, version, runbook.mode, alert=alert)
    svc.known.add(ref.id, runbook.id)
    row.execution_id = ref.id
    accepted.executions.append(ref)
    if ref.status in LIVE_STATUSES:
        started.append((row, runbook.id))


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
