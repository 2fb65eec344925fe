"""Opsgenie Webhook integration: alerts created and closed in Opsgenie become alerts here.

Opsgenie posts `{action, alert: {...}, source, integrationName, ...}` for the alert actions the
integration is set to forward. Create fires and Close resolves; Acknowledge, AddNote, Delete,
custom actions and the rest do not change whether something is wrong and are ignored (no alerts).

The fingerprint is the alias when there is one (Opsgenie's own de-duplication key: the same on
Create and Close, and what the upstream tool chose), else the alertId. Tags `key:value` become
labels, bare tags `tag_<tag>=true`; alert details (sent on Create when "Add alert details" is on)
become labels too, since that is where Opsgenie carries the upstream tool's labels. A detail or a
tag named `alertname` names the alert; otherwise the alert message does.
"""

from __future__ import annotations

from typing import Any

from runbooks.alert import Alert
from runbooks.settings import Settings
from services.sources.auth import check_token
from services.sources.base import Delivery, SourceError
from services.sources.parsing import labels_from_tags, load_json, obj, opt_text, str_map, timestamp, wrong

STATUS = {"create": "firing", "close": "resolved"}


def _tags(alert: dict[str, Any]) -> list[str]:
    tags = alert.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise wrong("alert.tags", "an array of strings", tags)
    return tags


def adapt(delivery: Delivery, settings: Settings) -> list[Alert]:
    """`POST /api/v1/alerts/opsgenie`: optional OPSGENIE_TOKEN, then one alert action."""
    check_token(delivery, settings.sources.opsgenie_token, "OPSGENIE_TOKEN")
    payload = obj(load_json(delivery.body), "body")
    action = opt_text(payload, "action", "body")
    if action is None:
        raise SourceError(422, "action: missing")
    status = STATUS.get(action.lower())
    if status is None:
        return []
    alert = obj(payload.get("alert"), "alert")
    fingerprint = opt_text(alert, "alias", "alert") or opt_text(alert, "alertId", "alert")
    if fingerprint is None:
        raise SourceError(422, "alert.alias and alert.alertId: both missing; one is needed to tell alerts apart")
    message = opt_text(alert, "message", "alert")
    priority = opt_text(alert, "priority", "alert")
    labels = {
        "alertname": message,
        "priority": priority,
        "severity": priority,
        "entity": opt_text(alert, "entity", "alert"),
    }
    labels = {k: v for k, v in labels.items() if v is not None}
    labels.update(labels_from_tags(_tags(alert)))
    labels.update(str_map(alert.get("details"), "alert.details"))
    if not labels.get("alertname", "").strip():
        raise SourceError(422, "alert.message: missing, and no `alertname` detail or tag; the alert needs a name")
    annotations = {
        "summary": message,
        "description": opt_text(alert, "description", "alert"),
        "alert_id": opt_text(alert, "alertId", "alert"),
        "alias": opt_text(alert, "alias", "alert"),
        "tiny_id": opt_text(alert, "tinyId", "alert"),
        "username": opt_text(alert, "username", "alert"),
        "tags": ",".join(_tags(alert)) or None,
        "action": action,
        "opsgenie_source": opt_text(alert, "source", "alert"),
    }
    return [
        Alert(
            source="opsgenie",
            fingerprint=fingerprint,
            status=status,
            labels=labels,
            annotations={k: v for k, v in annotations.items() if v is not None},
            starts_at=timestamp(alert.get("createdAt"), "alert.createdAt"),
            raw=payload,
        )
    ]
