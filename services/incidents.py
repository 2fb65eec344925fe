"""Incidents as people read them: the alerts that belong together, the executions they started,
and one timeline. Open while any of its alerts still fires; resolved when the last one resolved.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, Field

from runbooks.storage.tables import AlertRow, ExecutionRow, IncidentRow
from services.cockpit import timeline
from services.context import Services
from services.errors import NotFound


class IncidentAlert(BaseModel):
    id: int
    alertname: str | None
    status: str
    fingerprint: str
    labels: dict[str, str]
    received_at: datetime | None
    runbook_id: str | None
    execution_id: str | None


class IncidentExecution(BaseModel):
    id: str
    runbook_id: str
    status: str
    started_by: str
    started_at: datetime | None
    finished_at: datetime | None


class IncidentMoment(BaseModel):
    at: datetime
    kind: str
    message: str


class IncidentSummary(BaseModel):
    id: str
    title: str
    key: str = Field(description="what its alerts share, e.g. instance=web-1")
    status: str = Field(description="firing: an alert of it still fires; resolved: every one resolved")
    opened_at: datetime | None
    last_alert_at: datetime | None
    resolved_at: datetime | None
    alertnames: list[str]
    alerts: int
    executions: list[str]


class WaitingSuggestion(BaseModel):
    """A firing alert of the incident whose runbook waits while the likely root cause's runs first."""

    alert_id: int
    alertname: str | None
    runbook_id: str
    root_cause_execution: str
    reason: str


class RootCause(BaseModel):
    alertname: str | None
    runbook_id: str
    execution_id: str
    reason: str


class Incident(IncidentSummary):
    alert_list: list[IncidentAlert]
    execution_list: list[IncidentExecution]
    timeline: list[IncidentMoment]
    root_cause: RootCause | None = Field(default=None, description="when its alerts matched different runbooks: "
                                         "the one answering the alert that began firing first, run first")
    waiting: list[WaitingSuggestion] = Field(default_factory=list, description="runbooks of its other alerts, "
                                             "waiting as suggestions (POST /api/v1/alerts/{alert_id}/executions)")


def _summary(row: IncidentRow, alerts: list[AlertRow]) -> IncidentSummary:
    latest: dict[str, AlertRow] = {}
    for a in alerts:  # by id: the latest delivery of each alert says whether it still fires
        latest[a.fingerprint] = a
    firing = any(a.status == "firing" for a in latest.values())
    resolved_at = None if firing or not latest else max((a.received_at for a in latest.values() if a.received_at),
                                                        default=None)
    names = sorted({a.alertname for a in alerts if a.alertname})
    executions = list(dict.fromkeys(a.execution_id for a in alerts if a.execution_id))
    return IncidentSummary(id=row.id, title=row.title, key=row.key, status="firing" if firing else "resolved",
                           opened_at=row.opened_at, last_alert_at=row.last_alert_at, resolved_at=resolved_at,
                           alertnames=names, alerts=len(latest), executions=executions)


async def list_incidents(svc: Services, limit: int = 100) -> list[IncidentSummary]:
    def read() -> list[IncidentSummary]:
        rows = svc.store.incidents(limit)
        by_incident: dict[str, list[AlertRow]] = {}
        for a in svc.store.alerts_of_incidents([r.id for r in rows]):
            by_incident.setdefault(a.incident_id or "", []).append(a)
        return [_summary(r, by_incident.get(r.id, [])) for r in rows]

    return await asyncio.to_thread(read)


def _root_cause(alerts: list[AlertRow]) -> tuple[RootCause | None, list[WaitingSuggestion]]:
    latest: dict[str, AlertRow] = {}
    for a in alerts:
        latest[a.fingerprint] = a
    waiting = [WaitingSuggestion(alert_id=a.id or 0, alertname=a.alertname, runbook_id=a.runbook_id,
                                 root_cause_execution=a.held_by, reason=a.hold_reason or "")
               for a in latest.values() if a.status == "firing" and a.held_by and a.runbook_id and not a.execution_id]
    answered = [a for a in alerts if a.execution_id and a.runbook_id and a.status == "firing"]
    if len({a.runbook_id for a in answered} | {w.runbook_id for w in waiting}) < 2:
        return None, waiting  # one runbook answers it all: nothing to order
    first = min(answered, key=lambda a: (a.starts_at is None, a.starts_at or a.received_at, a.id or 0), default=None)
    if first is None:
        return None, waiting
    when = f" at {first.starts_at:%H:%M:%S} UTC" if first.starts_at else ""
    return RootCause(alertname=first.alertname, runbook_id=first.runbook_id or "", execution_id=first.execution_id or "",
                     reason=f"{first.alertname or 'alert'} began firing first{when}: causes come before their "
                            "symptoms, so its runbook ran first"), waiting


def _moments(alerts: list[AlertRow], executions: list[ExecutionRow], store) -> list[IncidentMoment]:  # noqa: ANN001
    out = [IncidentMoment(at=a.received_at, kind=f"alert_{a.status}", message=f"{a.alertname or 'alert'} {a.status}"
                          + (f" ({', '.join(f'{k}={v}' for k, v in sorted(a.labels.items()) if k != 'alertname')})"
                             if a.status == "firing" else ""))
           for a in alerts if a.received_at is not None]
    out += [IncidentMoment(at=a.received_at, kind="waits", message=f"{a.runbook_id} waits as a suggestion: {a.hold_reason}")
            for a in alerts if a.received_at is not None and a.held_by and a.hold_reason]
    for ex in executions:
        found = store.get_execution(ex.id)
        if found is None:
            continue
        row, steps, approvals, events = found
        out += [IncidentMoment(at=m.at, kind=m.kind, message=f"{ex.runbook_id}: {m.message}")
                for m in timeline(row, steps, approvals, events, store.notes_of([ex.id]))]
    return sorted(out, key=lambda m: m.at)


async def incident(svc: Services, incident_id: str) -> Incident:
    def read() -> Incident:
        row = svc.store.incident(incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id!r}")
        alerts = svc.store.alerts_of_incidents([row.id])
        summary = _summary(row, alerts)
        executions = svc.store.executions_by_id(summary.executions)
        root, waiting = _root_cause(alerts)
        return Incident(
            root_cause=root, waiting=waiting,
            **summary.model_dump(),
            alert_list=[IncidentAlert(id=a.id or 0, alertname=a.alertname, status=a.status, fingerprint=a.fingerprint,
                                      labels=a.labels, received_at=a.received_at, runbook_id=a.runbook_id,
                                      execution_id=a.execution_id) for a in alerts],
            execution_list=[IncidentExecution(id=e.id, runbook_id=e.runbook_id, status=e.status,
                                              started_by=e.started_by, started_at=e.started_at,
                                              finished_at=e.finished_at) for e in executions],
            timeline=_moments(alerts, executions, svc.store))

    return await asyncio.to_thread(read)
