"""Alert webhooks from every source, and the alerts received (coverage gaps included).

Each source adapter verifies and normalizes; `ingest` records every delivery, matches and starts
executions exactly once. A malformed delivery is refused with the reason and kept for inspection.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api.deps import Services, services
from api.ingest import ingest
from api.metrics import DELIVERIES_REJECTED
from api.schemas import AlertCount, AlertList, AlertsAccepted, AlertView, RejectedView
from api.sources import REGISTRY
from api.sources.base import Delivery, SourceError
from runbooks.alert import Alert
from runbooks.db import RejectedDelivery, utcnow

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
log = logging.getLogger("runbooks.api")
MAX_BODY = 16 * 1024 * 1024
KEPT_BODY = 1024 * 1024
_SECRET_HEADERS = {"authorization", "x-pagerduty-signature", "x-signature-256", "x-living-runbooks-token", "cookie"}


async def parse_delivery(source: str, request: Request, svc: Services) -> list[Alert]:
    """Verify and normalize one delivery; refuse it (4xx with the reason) without starting anything."""
    adapter = REGISTRY.get(source)
    if adapter is None:
        DELIVERIES_REJECTED.labels(source="unknown", code="404").inc()  # the path is free text: bounded label
        raise HTTPException(404, detail=f"unknown alert source {source!r}; one of: {', '.join(sorted(REGISTRY))}")
    body = await request.body()
    if len(body) > MAX_BODY:
        DELIVERIES_REJECTED.labels(source=source, code="413").inc()
        raise HTTPException(413, detail=f"delivery larger than {MAX_BODY} bytes")
    delivery = Delivery(source=source, body=body, headers={k.lower(): v for k, v in request.headers.items()},
                        query=dict(request.query_params))
    try:
        return await asyncio.to_thread(adapter, delivery, svc.settings)  # a 10,000-alert body takes CPU
    except SourceError as exc:
        log.warning("refused %s delivery: %s", source, exc.reason)
        DELIVERIES_REJECTED.labels(source=source, code=str(exc.status)).inc()
        if exc.status not in (401, 500):  # unauthenticated junk, or our own misconfiguration
            await asyncio.to_thread(svc.store.record_rejected, RejectedDelivery(
                source=source, status=exc.status, reason=exc.reason, received_at=utcnow(),
                headers={k: v for k, v in delivery.headers.items() if k not in _SECRET_HEADERS},
                body=body[:KEPT_BODY].decode("utf-8", errors="replace")))
        raise HTTPException(exc.status, detail=exc.reason) from None


@router.get("", response_model=AlertList)
async def list_alerts(matched: bool | None = Query(None, description="false: the alerts no runbook answers"),
                      source: str | None = None, limit: int = Query(100, ge=1, le=1000),
                      svc: Services = Depends(services)) -> AlertList:
    """Alerts received, newest first, with counts per alert name: `?matched=false` lists coverage gaps."""
    rows = await asyncio.to_thread(svc.store.list_alerts, matched, source, limit)
    counts = await asyncio.to_thread(svc.store.alert_counts, matched)
    return AlertList(
        alerts=[AlertView(id=r.id, source=r.source, fingerprint=r.fingerprint, status=r.status,
                          alertname=r.alertname, labels=r.labels, annotations=r.annotations, starts_at=r.starts_at,
                          received_at=r.received_at, runbook_id=r.runbook_id, execution_id=r.execution_id)
                for r in rows],
        by_alertname=[AlertCount(alertname=name, count=n, last_seen=last) for name, n, last in counts])


@router.get("/rejected", response_model=list[RejectedView])
async def list_rejected(limit: int = Query(100, ge=1, le=1000), svc: Services = Depends(services)) -> list[RejectedView]:
    """Deliveries refused as malformed, with the reason and the raw body as it was sent."""
    rows = await asyncio.to_thread(svc.store.list_rejected, limit)
    return [RejectedView(id=r.id, source=r.source, status=r.status, reason=r.reason, headers=r.headers, body=r.body,
                         received_at=r.received_at) for r in rows]


@router.post("/{source}", status_code=202, response_model=AlertsAccepted, openapi_extra={"requestBody": {
    "content": {"application/json": {"schema": {"type": "object"}}},
    "description": "the source's own webhook body: alertmanager, grafana, pagerduty, opsgenie, datadog, generic"}})
async def receive_alerts(source: str, request: Request, svc: Services = Depends(services)) -> AlertsAccepted:
    """A webhook from `source`. A re-delivered firing alert never starts a second execution."""
    return await ingest(svc, await parse_delivery(source, request, svc))
