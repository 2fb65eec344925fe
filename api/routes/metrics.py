"""GET /metrics: the process's Prometheus registry (alerts, matching, executions, steps, approvals)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import REGISTRY
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder

from api.auth import metrics_rule
from api.deps import services
from api.problems import responses
from runbooks.telemetry.metrics import refresh_execution_gauge, refresh_runbook_outcomes
from services.context import Services

router = APIRouter(tags=["health"], responses=responses(401, 403))


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}}},
            dependencies=[Depends(metrics_rule())])
async def metrics(request: Request, svc: Services = Depends(services)) -> Response:
    """Prometheus text format (OpenMetrics if asked for): alerts, matching, executions by status and
    by runbook, step and approval timings."""
    store = svc.store
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))

    def scrape() -> bytes:
        refresh_execution_gauge(store.execution_counts())  # one GROUP BY
        refresh_runbook_outcomes(store.runbook_outcomes())  # and one more, per runbook
        return encoder(REGISTRY)

    return Response(await asyncio.to_thread(scrape), headers={"content-type": content_type})
