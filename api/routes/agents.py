"""Agents: the workers inside target networks that run `agent:<name>` steps, and their last poll."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import needs
from api.deps import services
from api.problems import responses
from runbooks.access import Permission
from services import agents
from services.context import Services

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], responses=responses(401, 403))


@router.get("", response_model=list[agents.AgentStatus], dependencies=[Depends(needs(Permission.read))])
async def list_agents(svc: Services = Depends(services)) -> list[agents.AgentStatus]:
    """Every agent the runbooks name (and AGENTS lists): online when it polled within 90 s, its pollers."""
    return await agents.list_agents(svc)
