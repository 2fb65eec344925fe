"""Prometheus Alertmanager webhook (payload version 4): the shape every other source is mapped onto.

Alertmanager already speaks our model: labels, annotations, status firing|resolved, a fingerprint.
The models here are the ones that lived in `api.schemas`, with label values coerced to strings
(VictoriaMetrics' vmalert and hand-written senders post numbers) and without the list-length cap,
which `check_count` turns into a 413 instead of a 422. Grafana reuses `alerts_from`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from runbooks.alert import Alert, label_fingerprint
from runbooks.settings import Settings
from services.sources.auth import check_token
from services.sources.base import Delivery, SourceError
from services.sources.parsing import as_text, check_count, load_json, obj, validate


def _strings(value: Any) -> Any:
    """Label values as text; a non-object is left for pydantic to refuse with its path."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items() if v is not None}
    return {} if value is None else value


StrMap = Annotated[dict[str, str], BeforeValidator(_strings)]


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: Literal["firing", "resolved"]
    labels: StrMap
    annotations: StrMap = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class AlertmanagerWebhook(BaseModel):
    """Alertmanager webhook payload, version 4 (the group fields are kept for `raw`, not used)."""

    model_config = ConfigDict(extra="allow")
    version: str = "4"
    status: str | None = None
    receiver: str | None = None
    groupKey: str | None = None
    groupLabels: StrMap = Field(default_factory=dict)
    commonLabels: StrMap = Field(default_factory=dict)
    commonAnnotations: StrMap = Field(default_factory=dict)
    externalURL: str | None = None
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


def alerts_from(body: bytes, source: str, model: type[AlertmanagerWebhook] = AlertmanagerWebhook) -> list[Alert]:
    """Parse an Alertmanager-shaped body (Alertmanager, Grafana) into alerts; `raw` is each alert as posted."""
    data = obj(load_json(body), "body")
    raw_alerts = data.get("alerts")
    if isinstance(raw_alerts, list):
        check_count(raw_alerts, "alerts")
    payload = validate(model, data)
    out: list[Alert] = []
    for i, (alert, raw) in enumerate(zip(payload.alerts, raw_alerts or [], strict=True)):
        name = alert.labels.get("alertname", "").strip()
        if not name:
            raise SourceError(422, f"alerts[{i}].labels.alertname: missing; every alert needs a name to be matched")
        out.append(
            Alert(
                source=source,
                fingerprint=(alert.fingerprint or "").strip() or label_fingerprint(alert.labels),
                status=alert.status,
                labels=alert.labels,
                annotations=alert.annotations,
                starts_at=_when(alert.startsAt),
                raw=raw,
                generator_url=alert.generatorURL,
            )
        )
    return out


def _when(value: datetime | None) -> datetime | None:
    if value is None or value.year == 1:  # Go's zero time: not set
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def adapt(delivery: Delivery, settings: Settings) -> list[Alert]:
    """`POST /api/v1/alerts/alertmanager`: optional bearer token (ALERTMANAGER_TOKEN), then the v4 payload."""
    check_token(delivery, settings.sources.alertmanager_token, "ALERTMANAGER_TOKEN")
    return alerts_from(delivery.body, "alertmanager")
