"""GET /healthz: liveness, and what the process is connected to."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import public
from api.deps import services
from api.problems import responses
from services.context import Services

router = APIRouter(tags=["health"], responses=responses())


@router.get("/healthz", dependencies=[Depends(public("liveness, for load balancers and orchestrators"))])
async def healthz(svc: Services = Depends(services)) -> dict:
    """Liveness plus what the process is connected to."""
    return {"status": "ok", "runbooks": len(svc.catalog.runbooks), "temporal": svc.settings.temporal_address,
            "task_queue": svc.settings.task_queue}
