"""Incident reports: the facts of an execution gathered from the database, written up by
runbooks/report.py. The REST route, the cockpit page (and later an incident's report) all read
through here, so they say the same thing."""

from __future__ import annotations

import asyncio

from runbooks.report import IncidentAlertLine, ReportFacts, execution_report as write_report, incident_report as write_incident
from services.cockpit import pinned, timeline
from services.context import Services
from services.errors import NotFound
from services.incidents import incident as read_incident
from services.insights import runbook_insights


def _gather(svc: Services, execution_id: str) -> ReportFacts:
    found = svc.store.get_execution(execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r}")
    ex, steps, approvals, events = found
    alert = svc.store.alert_of_execution(ex.id)
    runbook, _ = pinned(svc, ex.runbook_id, ex.runbook_version)
    return ReportFacts(
        execution=ex, runbook_title=runbook.title if runbook else ex.runbook_id, steps=steps, approvals=approvals,
        timeline=timeline(ex, steps, approvals, events, svc.store.notes_of([ex.id])), has_alert=alert is not None,
        labels={k: str(v) for k, v in (alert.labels if alert else {}).items()},
        annotations={k: str(v) for k, v in (alert.annotations if alert else {}).items()})


async def execution_facts(svc: Services, execution_id: str) -> ReportFacts:
    """Everything an execution's report says; NotFound for an unknown id.

    The runbook's insight flags are judged as of the execution's end, not today, so the report of
    an ended execution reads the same tomorrow unless its runbook's history changes.
    """
    facts = await asyncio.to_thread(_gather, svc, execution_id)
    ex = facts.execution
    try:
        facts.flags = (await runbook_insights(svc, ex.runbook_id, ex.finished_at)).flags
    except NotFound:  # the runbook's row is gone: the report stands without recommendations from history
        facts.flags = []
    return facts


async def execution_report(svc: Services, execution_id: str) -> str:
    """The Markdown incident report of one execution; NotFound for an unknown id."""
    return write_report(await execution_facts(svc, execution_id))


async def incident_report(svc: Services, incident_id: str) -> str:
    """The Markdown report of an incident: its alerts and timeline, then each execution's report."""
    found = await read_incident(svc, incident_id)
    executions = [await execution_facts(svc, e.id) for e in found.execution_list]
    return write_incident(found.title, found.key, found.status, found.opened_at, found.resolved_at,
                          [IncidentAlertLine(a.received_at, a.alertname or "alert", a.status, a.labels)
                           for a in found.alert_list], found.timeline, executions)
