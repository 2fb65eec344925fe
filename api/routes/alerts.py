"""Alert webhooks from every source, and the alerts received (coverage gaps included).

`services.ingest` verifies and normalizes through the source's adapter, records every delivery,
matches and starts executions exactly once. A malformed delivery is refused with the reason and
kept for inspection.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Request

from api.auth import needs, public
from api.deps import services
from api.problems import responses
from api.schemas import (
    AlertCount, AlertList, AlertView, PairingView, RejectedView, StartedForAlert, StartForAlert,
)
from runbooks.access import Permission, Principal
from runbooks.storage.tables import PairingRow
from services import pairings
from services.context import Services
from services.ingest import AlertsAccepted, receive
from services.sources import Delivery

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=responses(400, 401, 403, 404, 415))


async def delivery(source: str, request: Request) -> Delivery:
    """The request as a source delivery: the raw body, lower-cased headers, the query string."""
    return Delivery(source=source, body=await request.body(),
                    headers={k.lower(): v for k, v in request.headers.items()}, query=dict(request.query_params))


@router.get("", response_model=AlertList, dependencies=[Depends(needs(Permission.read))])
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


@router.get("/rejected", response_model=list[RejectedView], dependencies=[Depends(needs(Permission.read))])
async def list_rejected(limit: int = Query(100, ge=1, le=1000), svc: Services = Depends(services)) -> list[RejectedView]:
    """Deliveries refused as malformed, with the reason and the raw body as it was sent."""
    rows = await asyncio.to_thread(svc.store.list_rejected, limit)
    return [RejectedView(id=r.id, source=r.source, status=r.status, reason=r.reason, headers=r.headers, body=r.body,
                         received_at=r.received_at) for r in rows]


@router.post("/{alert_id}/executions", status_code=202, response_model=StartedForAlert)
async def start_for_alert(alert_id: int, body: StartForAlert, svc: Services = Depends(services),
                          who: Principal = Depends(needs(Permission.start))) -> StartedForAlert:
    """Run a runbook of your choice for a received alert (its labels fill the steps), as yourself.
    When matching had answered nothing or another runbook, the alert name is paired with yours: the
    next alert of that name matches it, with a reason that names you (`GET /api/v1/pairings`)."""
    ref, pairing = await pairings.start_for_alert(svc, who, alert_id, body.runbook_id, body.mode, body.params)
    return StartedForAlert(execution=ref, pairing=pairing_view(pairing) if pairing else None)


def pairing_view(p: PairingRow) -> PairingView:
    return PairingView(alertname=p.alertname, runbook_id=p.runbook_id, chosen_by=p.chosen_by, chosen_at=p.chosen_at,
                       alert_id=p.alert_id, replaced=p.replaced)


pairings_router = APIRouter(prefix="/api/v1/pairings", tags=["alerts"], responses=responses(401, 403, 404))


@pairings_router.get("", response_model=list[PairingView], dependencies=[Depends(needs(Permission.read))])
async def list_pairings(svc: Services = Depends(services)) -> list[PairingView]:
    """Alert names people paired with a runbook by starting it by hand, newest first."""
    return [pairing_view(p) for p in await asyncio.to_thread(svc.store.pairings)]


@pairings_router.delete("/{alertname}", response_model=PairingView)
async def remove_pairing(alertname: str, svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.edit))) -> PairingView:
    """Forget a pairing: alerts of that name are matched by the index again."""
    return pairing_view(await pairings.remove(svc, who, alertname))


@router.post("/{source}", status_code=202, response_model=AlertsAccepted, openapi_extra={"requestBody": {
    "content": {"application/json": {"schema": {"type": "object"}}},
    "description": "the source's own webhook body: alertmanager, grafana, pagerduty, opsgenie, datadog, generic"}},
             dependencies=[Depends(public("an alert source: its own signature or token (sources/)"))])
async def receive_alerts(source: str, request: Request, svc: Services = Depends(services)) -> AlertsAccepted:
    """A webhook from `source`. A re-delivered firing alert never starts a second execution."""
    return await receive(svc, await delivery(source, request))
