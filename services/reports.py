"""Incident reports, and replays of past executions: the facts of an execution gathered from the
database, written up by runbooks/report.py (runbooks/replay.py). The REST route, the cockpit page (and later an incident's report) all read
through here, so they say the same thing."""

from __future__ import annotations

import asyncio

from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from runbooks.contract import IncidentReportPost
from runbooks.replay import Replay, build_replay
from runbooks.narration import narrate
from runbooks.report import (
    IncidentAlertLine, ReportFacts, execution_report as write_report, incident_report as write_incident, timeline_facts,
    with_narration,
)
from services.cockpit import pinned, timeline
from services.context import Services
from services.errors import NotFound
from services.errors import Unavailable
from services.incidents import Incident, incident as read_incident
from services.insights import runbook_insights
from workflows.incident_report import IncidentReport


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


def _replay(svc: Services, execution_id: str) -> Replay:
    found = svc.store.get_execution(execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r}")
    ex, steps, approvals, events = found
    runbook, _ = pinned(svc, ex.runbook_id, ex.runbook_version)
    alert = svc.store.alert_of_execution(ex.id)
    drill = svc.store.drill_of_execution(ex.id) if ex.drill and alert is None else None
    labels = alert.labels if alert else drill.labels if drill else ex.params or {}
    return build_replay(ex, runbook.title if runbook else ex.runbook_id, steps, approvals, events,
                        svc.store.notes_of([ex.id]), {k: str(v) for k, v in labels.items()})


async def execution_replay(svc: Services, execution_id: str) -> Replay:
    """A past execution step by step, for training (runbooks/replay.py); NotFound for an unknown id."""
    return await asyncio.to_thread(_replay, svc, execution_id)


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


NARRATE_TASK = ("Summarise this incident for the post-mortem in three to five sentences: what fired, what ran, "
                "who decided what, and how it ended, restating only these timeline facts.")


async def _narrated(svc: Services, markdown: str, moments) -> str:  # noqa: ANN001
    narration = await asyncio.to_thread(narrate, NARRATE_TASK, timeline_facts(moments), svc.settings.llm)
    return with_narration(markdown, narration)


async def execution_report(svc: Services, execution_id: str, narrated: bool = False) -> str:
    """The Markdown incident report of one execution; NotFound for an unknown id. `narrated`: with an
    LLM's summary that only restates its timeline (runbooks/narration.py)."""
    facts = await execution_facts(svc, execution_id)
    markdown = write_report(facts)
    return await _narrated(svc, markdown, facts.timeline) if narrated else markdown


async def incident_report(svc: Services, incident_id: str, narrated: bool = False) -> str:
    """The Markdown report of an incident: its alerts and timeline, then each execution's report."""
    found = await read_incident(svc, incident_id)
    markdown = await _write_incident(svc, found)
    return await _narrated(svc, markdown, found.timeline) if narrated else markdown


async def announce_ended(svc: Services, incident_ids: set[str]) -> None:
    """Post the report of each of these incidents that has just ended (its last alert resolved) to
    its executions' Slack threads, through a workflow (workflows/incident_report.py): once per ending,
    whatever the retries of the delivery that ended it. Unavailable when Temporal is away (the
    source retries the delivery)."""
    if not svc.settings.slack_enabled:
        return
    for incident_id in sorted(incident_ids):
        found = await read_incident(svc, incident_id)
        if found.status != "resolved" or not found.execution_list:
            continue
        # An ending is known by the incident's last firing alert: a re-delivered resolution is the same
        # ending (posted once), an alert that fires again within the window makes the next one.
        ending = str(max((a.id for a in found.alert_list if a.status == "firing"), default=0))
        post = IncidentReportPost(incident_id=found.id, ending=ending, title=found.title,
                                  markdown=await _write_incident(svc, found),
                                  execution_ids=[e.id for e in found.execution_list])
        try:
            await svc.client.start_workflow(
                IncidentReport.run, post, id=f"incident-report.{found.id}.{ending}", task_queue=svc.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, static_summary=f"report of {found.title}")
        except WorkflowAlreadyStartedError:
            continue  # this ending's report is posted, or being posted
        except RPCError as exc:
            raise Unavailable(f"Temporal did not take the incident report (retry later): {exc.message}") from None


async def _write_incident(svc: Services, found: Incident) -> str:
    executions = [await execution_facts(svc, e.id) for e in found.execution_list]
    return write_incident(found.title, found.key, found.status, found.opened_at, found.resolved_at,
                          [IncidentAlertLine(a.received_at, a.alertname or "alert", a.status, a.labels)
                           for a in found.alert_list], found.timeline, executions)
