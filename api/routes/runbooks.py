"""The runbook catalogue, and starting a runbook by hand."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException

from api.deps import Services, services
from api.schemas import ExecutionRef, RunbookDetail, RunbookSummary, StartExecution, StepSummary

router = APIRouter(prefix="/api/v1/runbooks", tags=["runbooks"])


@router.get("", response_model=list[RunbookSummary])
async def list_runbooks(svc: Services = Depends(services)) -> list[RunbookSummary]:
    rows = await asyncio.to_thread(svc.store.list_runbooks)
    return [RunbookSummary(id=r.id, title=r.title, service=r.service, latest_version=r.latest_version,
                           source_path=r.source_path) for r in rows]


@router.get("/{runbook_id:path}", response_model=RunbookDetail)
async def get_runbook(runbook_id: str, version: int | None = None,
                      svc: Services = Depends(services)) -> RunbookDetail:
    found = await asyncio.to_thread(svc.store.get_runbook, runbook_id, version)
    if found is None:
        raise HTTPException(404, detail=f"no runbook {runbook_id!r}" + (f" version {version}" if version else ""))
    rb, ver = found
    rows = {r.id: r for r in await asyncio.to_thread(svc.store.list_runbooks)}
    return RunbookDetail(
        id=rb.id, title=rb.title, service=rb.service, latest_version=rows[rb.id].latest_version,
        source_path=rb.source_path, version=ver, description=rb.description, mode=rb.mode.value, match=rb.match,
        escalation=[e.model_dump(mode="json") for e in rb.escalation],
        steps=[StepSummary(id=s.id, title=s.title, position=s.position, risk=s.risk.value, risk_reason=s.risk_reason,
                           target=s.target, command=s.command, rollback=s.rollback, manual=s.manual)
               for s in rb.steps])


@router.post("/{runbook_id:path}/executions", status_code=202, response_model=ExecutionRef)
async def start_execution(runbook_id: str, body: StartExecution, svc: Services = Depends(services)) -> ExecutionRef:
    """Run a runbook by hand; `params` fill `{{ params.x }}` placeholders, each as one argument."""
    found = await asyncio.to_thread(svc.store.get_runbook, runbook_id)
    if found is None:
        raise HTTPException(404, detail=f"no runbook {runbook_id!r}")
    rb, version = found
    return await svc.launcher.start(rb, version, body.mode, params=body.params, started_by=body.started_by)
