"""PagerDuty v3 webhook subscriptions: incidents triggered and resolved become alerts.

PagerDuty signs the raw body with HMAC-SHA256 and sends `X-PagerDuty-Signature: v1=<hex>`; while a
secret is being rotated the header carries several comma-separated signatures, and one matching is
enough. Without PAGERDUTY_WEBHOOK_SECRET every delivery is refused: an unsigned PagerDuty endpoint
would let anyone start runbooks.

One event per delivery, the incident under `event.data`. incident.triggered and incident.reopened
fire, incident.resolved resolves; everything else (acknowledged, annotated, escalated, priority
changes, pagey.ping, non-incident events) is not an alert transition and is ignored (no alerts).
The incident id is the fingerprint: it is the same on the trigger and the resolve.
"""

from __future__ import annotations

from typing import Any

from runbooks.alert import Alert
from runbooks.settings import Settings, SourceSettings
from services.sources.auth import any_signature_matches, hmac_sha256_hex, require_secret
from services.sources.base import Delivery, SourceError
from services.sources.parsing import join, load_json, obj, opt_text, timestamp

STATUS = {"incident.triggered": "firing", "incident.reopened": "firing", "incident.resolved": "resolved"}
HEADER = "x-pagerduty-signature"


def verify(delivery: Delivery, sources: SourceSettings) -> None:
    secret = require_secret(sources.pagerduty_webhook_secret, "PAGERDUTY_WEBHOOK_SECRET")
    header = delivery.headers.get(HEADER, "").strip()
    if not header:
        raise SourceError(401, "missing X-PagerDuty-Signature header")
    signatures = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not signatures:
        raise SourceError(401, "X-PagerDuty-Signature has no v1=<hex> signature")
    if not any_signature_matches(hmac_sha256_hex(secret, delivery.body), signatures):
        raise SourceError(401, "X-PagerDuty-Signature does not match the body signed with PAGERDUTY_WEBHOOK_SECRET")


def _summary(data: dict[str, Any], key: str, path: str) -> str | None:
    """`service`, `priority`: references whose readable name is `summary` (priority is null when unset)."""
    ref = data.get(key)
    return None if ref is None else opt_text(obj(ref, join(path, key)), "summary", join(path, key))


def adapt(delivery: Delivery, settings: Settings) -> list[Alert]:
    """`POST /api/v1/alerts/pagerduty`: signature first, then one v3 event."""
    verify(delivery, settings.sources)
    payload = obj(load_json(delivery.body), "body")
    event = obj(payload.get("event"), "event")
    event_type = opt_text(event, "event_type", "event")
    if event_type is None:
        raise SourceError(422, "event.event_type: missing")
    status = STATUS.get(event_type)
    if status is None:
        return []
    data = obj(event.get("data"), "event.data")
    incident_id = opt_text(data, "id", "event.data")
    title = opt_text(data, "title", "event.data")
    if incident_id is None:
        raise SourceError(422, "event.data.id: missing; the incident id is the alert's fingerprint")
    if title is None:
        raise SourceError(422, "event.data.title: missing; the incident title is the alert's name")
    labels = {
        "alertname": title,
        "incident_id": incident_id,
        "service": _summary(data, "service", "event.data"),
        "service_id": opt_text(obj(data.get("service") or {}, "event.data.service"), "id", "event.data.service"),
        "severity": opt_text(data, "urgency", "event.data"),  # high | low: PagerDuty's own severity axis
        "urgency": opt_text(data, "urgency", "event.data"),
        "priority": _summary(data, "priority", "event.data"),  # P1..P5 when the account uses priorities
        "incident_key": opt_text(data, "incident_key", "event.data"),
    }
    annotations = {
        "summary": title,
        "url": opt_text(data, "html_url", "event.data"),
        "incident_number": opt_text(data, "number", "event.data"),
        "event_id": opt_text(event, "id", "event"),
        "event_type": event_type,
        "agent": _summary(event, "agent", "event"),
    }
    starts_at = timestamp(data.get("created_at"), "event.data.created_at") or timestamp(
        event.get("occurred_at"), "event.occurred_at"
    )
    return [
        Alert(
            source="pagerduty",
            fingerprint=incident_id,
            status=status,
            labels={k: v for k, v in labels.items() if v is not None},
            annotations={k: v for k, v in annotations.items() if v is not None},
            starts_at=starts_at,
            raw=payload,
        )
    ]
