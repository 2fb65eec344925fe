"""Which runbook would answer these alerts, and why: matching without starting anything."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from api.auth import needs
from api.deps import services
from api.problems import responses
from api.routes.alerts import delivery
from api.schemas import MatchAnswer, MatchCandidate
from runbooks.access import Permission
from services.context import Services
from services.ingest import parse_delivery

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=responses(400, 401, 403, 404, 415))


@router.post("/match", response_model=list[MatchAnswer], openapi_extra={"requestBody": {
    "content": {"application/json": {"schema": {"type": "object"}}},
    "description": "the same body as the source's webhook"}}, dependencies=[Depends(needs(Permission.read))])
async def match_alerts(request: Request, source: str = Query("alertmanager"),
                       svc: Services = Depends(services)) -> list[MatchAnswer]:
    """For each alert of a webhook body: the runbook (or null), its score, a reason a person can read,
    and the top 3 candidates. Nothing is recorded and nothing starts."""
    answers = []
    for alert in await parse_delivery(svc, await delivery(source, request)):
        found = svc.catalog.outcome(alert.labels, alert.annotations, generator_url=alert.generator_url)
        runbook = svc.catalog.runbooks.get(found.runbook_id) if found.runbook_id else None
        answers.append(MatchAnswer(
            fingerprint=alert.fingerprint, alertname=alert.alertname, runbook_id=found.runbook_id,
            source_path=runbook[0].source_path if runbook else None, score=found.score, reason=found.reason,
            candidates=[MatchCandidate(**c.model_dump()) for c in found.candidates[:3]], ask=found.ask))
    return answers
