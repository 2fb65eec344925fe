"""Fire drills: a synthetic alert sent through the whole path, marked as a drill everywhere.

The alert is built from the runbook's `match:` selector and the labels the drill gives; matching
is asked which runbook answers it (part of the score), and the drilled runbook starts in its own
mode with `drill` set: approval requests and escalations happen as they would at 3 a.m., and a step
that would run is rehearsed (nothing executes), or, with a sandbox `target`, runs there instead of
on the runbook's targets. A drill's alert is not recorded as an alert (no incident, no coverage
gap), and its execution is kept out of insights, suggestions and metrics. The score is in
runbooks/drills.py.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from runbooks.access import Permission, Principal
from runbooks.alert import Alert
from runbooks.drills import DrillScore, DrillStep, score_drill
from runbooks.model import Mode
from runbooks.storage.tables import DrillRow, utcnow
from runbooks.targets import TargetError, parse_target
from services.context import Services
from services.errors import Forbidden, Invalid, NotFound
from services.starts import live_version


class DrillRequest(BaseModel):
    runbook_id: str = Field(min_length=1, max_length=128)
    labels: dict[str, str] = Field(default_factory=dict, description="labels of the synthetic alert, over the "
                                   "runbook's match selector (e.g. instance=web-1)")
    target: str | None = Field(default=None, max_length=512, description="a sandbox target (local, ssh://...) "
                               "the steps run on; without it every step is rehearsed and nothing executes")
    mode: Mode | None = Field(default=None, description="the runbook's own mode when omitted")


class Drill(BaseModel):
    id: str
    runbook_id: str
    execution_id: str
    labels: dict[str, str]
    target: str | None
    matched_runbook_id: str | None
    match_reason: str
    started_by: str
    started_at: datetime | None
    status: str = Field(description="the drill execution's status")
    result: DrillScore


async def start_drill(svc: Services, who: Principal, req: DrillRequest) -> Drill:
    runbook, version = await live_version(svc, req.runbook_id)
    mode = req.mode or runbook.mode
    sandboxed = req.target is not None
    permission = Permission.start_autopilot if mode is Mode.autopilot and sandboxed else Permission.start
    if (refused := who.refusal(permission, runbook.owning_team, "run fire drills")) is not None:
        raise Forbidden(refused)
    if req.target is not None:
        try:
            kind = parse_target(req.target).kind
        except TargetError as exc:
            raise Invalid(f"target: {exc}") from None
        if kind == "manual":
            raise Invalid("target: a drill's sandbox must be a machine (local or ssh://...), not manual")
    drill_id = f"drill-{uuid.uuid4().hex[:12]}"
    labels = {**runbook.match, **req.labels}
    labels.setdefault("alertname", runbook.match.get("alertname") or f"Drill{runbook.id.title().replace('-', '')}")
    annotations = {"summary": f"Fire drill: {runbook.title}", "description": f"fire drill {drill_id}"}
    outcome = svc.catalog.outcome(labels, annotations, observed=False)
    alert = Alert(source="drill", fingerprint=drill_id, status="firing", labels=labels, annotations=annotations,
                  starts_at=utcnow())
    ref = await svc.launcher.start(runbook, version, mode, alert=alert, started_by=who.name, drill=True,
                                   drill_target=req.target)
    row = await asyncio.to_thread(svc.store.add_drill, DrillRow(
        id=drill_id, runbook_id=runbook.id, execution_id=ref.id, labels=labels, target=req.target,
        matched_runbook_id=outcome.runbook_id, match_reason=outcome.reason, started_by=who.name, started_at=utcnow()))
    await svc.audit(who.name, "drill.start", f"execution:{ref.id}", runbook=runbook.id, version=version,
                    mode=mode.value, drill=drill_id, sandbox=req.target or "", via=who.via)
    return await _view(svc, row)


async def drill(svc: Services, drill_id: str) -> Drill:
    row = await asyncio.to_thread(svc.store.drill, drill_id)
    if row is None:
        raise NotFound(f"no drill {drill_id!r}")
    return await _view(svc, row)


async def list_drills(svc: Services, runbook_id: str | None = None, limit: int = 100) -> list[Drill]:
    rows = await asyncio.to_thread(svc.store.drills, runbook_id, limit)
    return [await _view(svc, r) for r in rows]


async def _view(svc: Services, row: DrillRow) -> Drill:
    found = await asyncio.to_thread(svc.store.get_execution, row.execution_id)
    status, steps = "running", []
    if found is not None:
        ex, step_rows, approvals, events = found
        status = ex.status
        decided = {a.step_id: a for a in approvals}
        escalated: dict[str, int] = {}
        for e in events:
            if e.kind == "escalation" and e.step_id:
                escalated[e.step_id] = escalated.get(e.step_id, 0) + 1
        steps = [DrillStep(step_id=s.step_id, title=s.title, status=s.status, waiting_since=s.waiting_since,
                           decided_at=decided[s.step_id].decided_at if s.step_id in decided else None,
                           approved=decided[s.step_id].approved if s.step_id in decided else None,
                           decided_by=decided[s.step_id].actor if s.step_id in decided else None,
                           escalations=escalated.get(s.step_id, 0)) for s in step_rows]
    return Drill(id=row.id, runbook_id=row.runbook_id, execution_id=row.execution_id, labels=row.labels,
                 target=row.target, matched_runbook_id=row.matched_runbook_id, match_reason=row.match_reason,
                 started_by=row.started_by, started_at=row.started_at, status=status,
                 result=score_drill(row.matched_runbook_id == row.runbook_id, steps))
