"""Alert webhooks: every alert is recorded; a firing one starts the runbook that answers it."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends

from api.deps import Services, services
from api.ingest import ingest
from api.schemas import AlertmanagerAlert, AlertmanagerWebhook, AlertsAccepted
from runbooks.alert import Alert, label_fingerprint

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
log = logging.getLogger("runbooks.api")


def from_alertmanager(a: AlertmanagerAlert) -> Alert:
    return Alert(source="alertmanager", fingerprint=a.fingerprint or label_fingerprint(a.labels), status=a.status,
                 labels=a.labels, annotations=a.annotations, starts_at=a.startsAt, raw=a.model_dump(mode="json"))


@router.post("/alertmanager", status_code=202, response_model=AlertsAccepted)
async def alertmanager_webhook(payload: AlertmanagerWebhook, svc: Services = Depends(services)) -> AlertsAccepted:
    """Prometheus Alertmanager webhook (v4). A re-delivered firing alert never starts a second execution."""
    return await ingest(svc, [from_alertmanager(a) for a in payload.alerts])
