"""Incidents: alerts that belong together, the executions they started, one timeline."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.auth import needs
from api.deps import services
from api.problems import responses
from api.routes.executions import NARRATE_HELP, MarkdownResponse
from runbooks.access import Permission
from services import incidents
from services.context import Services
from services.reports import incident_report

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=responses(401, 403, 404))


@router.get("", response_model=list[incidents.IncidentSummary], dependencies=[Depends(needs(Permission.read))])
async def list_incidents(limit: int = Query(100, ge=1, le=1000),
                         svc: Services = Depends(services)) -> list[incidents.IncidentSummary]:
    """Incidents, the one with the latest alert first: firing while any of its alerts fires."""
    return await incidents.list_incidents(svc, limit)


@router.get("/{incident_id}", response_model=incidents.Incident, dependencies=[Depends(needs(Permission.read))])
async def get_incident(incident_id: str, svc: Services = Depends(services)) -> incidents.Incident:
    """An incident: its alerts, the executions they started, and its timeline (alerts, steps, decisions)."""
    return await incidents.incident(svc, incident_id)


@router.get("/{incident_id}/report", response_class=MarkdownResponse, dependencies=[Depends(needs(Permission.read))],
            responses={200: {"description": "The incident report, in Markdown", "content": {"text/markdown": {}}}})
async def report(incident_id: str, narrate: bool = Query(False, description=NARRATE_HELP),
                 svc: Services = Depends(services)) -> MarkdownResponse:
    """The incident's report in Markdown: what fired, one timeline, then each execution's report."""
    return MarkdownResponse(await incident_report(svc, incident_id, narrate))
