"""Grafana unified alerting webhook contact point: Alertmanager's shape plus Grafana's extras.

Grafana (8+) sends `alerts[]` with status, labels, annotations, startsAt and, since 9, a
fingerprint, plus `values`, `valueString`, dashboard/panel/silence URLs and `orgId`/`title` at the
top. The extras stay in each alert's `raw`; matching needs only the labels. Grafana authenticates
with a configurable Authorization header (Bearer by default) or basic auth: both are accepted.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from runbooks.alert import Alert
from runbooks.settings import Settings
from services.sources.alertmanager import AlertmanagerAlert, AlertmanagerWebhook, alerts_from
from services.sources.auth import check_token
from services.sources.base import Delivery


class GrafanaAlert(AlertmanagerAlert):
    silenceURL: str | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    imageURL: str | None = None
    values: dict[str, Any] | None = None
    valueString: str | None = None


class GrafanaWebhook(AlertmanagerWebhook):
    version: str = "1"
    orgId: int | None = None
    title: str | None = None
    state: str | None = None
    message: str | None = None
    alerts: list[GrafanaAlert] = Field(min_length=1)  # type: ignore[assignment]


def adapt(delivery: Delivery, settings: Settings) -> list[Alert]:
    """`POST /api/v1/alerts/grafana`: optional GRAFANA_TOKEN (Bearer or basic-auth password), then the payload."""
    check_token(delivery, settings.sources.grafana_token, "GRAFANA_TOKEN", allow_basic=True)
    return alerts_from(delivery.body, "grafana", GrafanaWebhook)
