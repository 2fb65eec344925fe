"""Fire drills: a synthetic alert through matching, approvals and escalations, scored."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.auth import needs
from api.deps import services
from api.problems import responses
from runbooks.access import Permission, Principal
from services import drills
from services.context import Services

router = APIRouter(prefix="/api/v1/drills", tags=["drills"], responses=responses(401, 403, 404))


@router.post("", status_code=201, response_model=drills.Drill, responses=responses(409, 422))
async def start_drill(body: drills.DrillRequest, svc: Services = Depends(services),
                      who: Principal = Depends(needs(Permission.start))) -> drills.Drill:
    """Run a fire drill of a runbook: its approval requests and escalations happen for real, its steps
    are rehearsed (or run on the sandbox `target`), and it stays out of insights and metrics."""
    return await drills.start_drill(svc, who, body)


@router.get("", response_model=list[drills.Drill], dependencies=[Depends(needs(Permission.read))])
async def list_drills(runbook_id: str | None = None, limit: int = Query(100, ge=1, le=1000),
                      svc: Services = Depends(services)) -> list[drills.Drill]:
    """Drills, newest first, each with its score as it stands."""
    return await drills.list_drills(svc, runbook_id, limit)


@router.get("/{drill_id}", response_model=drills.Drill, dependencies=[Depends(needs(Permission.read))])
async def get_drill(drill_id: str, svc: Services = Depends(services)) -> drills.Drill:
    """A drill and its score: matching, steps completed, time to each approval, escalations."""
    return await drills.drill(svc, drill_id)
