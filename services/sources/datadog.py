"""Datadog Webhooks integration: monitor notifications posted with the template in docs/sources.md.

Datadog's webhook body is whatever template the user writes, so this adapter reads the recommended
template (field names below) and tolerates the usual variations: `alert_transition` for
`transition`, `aggregation_key` for `aggreg_key`, tags as Datadog's comma-separated `$TAGS` text or
as a JSON array. $ALERT_TRANSITION Triggered and Re-Triggered fire, Recovered resolves; Warn,
No Data, Renotify and the rest are ignored (no alerts).

The fingerprint is $AGGREG_KEY (one per monitor group, the same on trigger and recovery), else the
monitor id with its scope. The name is an explicit `alertname` field, else an `alertname:` tag,
else the alert title without Datadog's "[Triggered on {host:a}]" / "[P1]" prefixes, so that the
same monitor has the same name whichever transition is being reported.
"""

from __future__ import annotations

import re
from typing import Any

from runbooks.alert import Alert
from runbooks.settings import Settings
from services.sources.auth import check_token
from services.sources.base import Delivery, SourceError
from services.sources.parsing import labels_from_tags, load_json, obj, opt_text, timestamp, wrong

STATUS = {"triggered": "firing", "re-triggered": "firing", "recovered": "resolved"}
_PREFIX = re.compile(
    r"^\s*\[(?:(?:Re-)?(?:Triggered|Recovered|Warn|No Data)|Renotify|P[1-5]|TEST)\b[^\]]*\]\s*", re.IGNORECASE
)


_UNSET = re.compile(r"^\$[A-Z_]+$")  # a template variable Datadog left as it was: it had no value for it


def _first(payload: dict[str, Any], *keys: str) -> str | None:
    """The first of `keys` with a value: templates copied from other tools name the same variable differently."""
    for key in keys:
        value = opt_text(payload, key, "")
        if value is not None and not _UNSET.match(value):
            return value
    return None


def monitor_name(title: str) -> str:
    while (stripped := _PREFIX.sub("", title, count=1)) != title:
        title = stripped
    return title.strip()


def _tags(payload: dict[str, Any]) -> dict[str, str]:
    tags = payload.get("tags")
    if tags is None or (isinstance(tags, str) and (not tags.strip() or _UNSET.match(tags.strip()))):
        return {}
    if isinstance(tags, str):
        return labels_from_tags(tags.split(","))
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return labels_from_tags(tags)
    raise wrong("tags", "comma-separated text or an array of strings", tags)


def adapt(delivery: Delivery, settings: Settings) -> list[Alert]:
    """`POST /api/v1/alerts/datadog`: optional DATADOG_TOKEN, then one monitor notification."""
    check_token(delivery, settings.sources.datadog_token, "DATADOG_TOKEN")
    payload = obj(load_json(delivery.body), "body")
    transition = _first(payload, "transition", "alert_transition")
    if transition is None:
        raise SourceError(422, 'transition: missing (the template needs "transition": "$ALERT_TRANSITION")')
    status = STATUS.get(transition.lower())
    if status is None:
        return []
    tags = _tags(payload)
    title = _first(payload, "title", "alert_title", "event_title")
    name = _first(payload, "alertname") or tags.get("alertname") or (monitor_name(title) if title else None)
    if not name:
        raise SourceError(422, 'alertname: missing; send "title": "$ALERT_TITLE" or an alertname field or tag')
    alert_id = _first(payload, "alert_id", "monitor_id")
    scope = _first(payload, "scope", "alert_scope")
    fingerprint = _first(payload, "aggreg_key", "aggregation_key") or (
        f"{alert_id}:{scope}" if alert_id and scope else alert_id
    )
    if fingerprint is None:
        raise SourceError(422, "aggreg_key and alert_id: both missing; one is needed to tell alerts apart")
    priority = _first(payload, "alert_priority")
    derived = {
        "alertname": name,
        "monitor_id": alert_id,
        "host": _first(payload, "hostname", "host"),
        "priority": priority,
        "severity": priority,
    }
    labels = {k: v for k, v in derived.items() if v is not None and k not in tags} | tags
    labels["alertname"] = name
    annotations = {
        "summary": title,
        "message": _first(payload, "message", "body", "text_only_msg"),
        "url": _first(payload, "link"),
        "transition": transition,
        "scope": scope,
        "alert_type": _first(payload, "alert_type"),
        "event_priority": _first(payload, "priority"),
        "event_id": _first(payload, "event_id", "id"),
        "alert_cycle_key": _first(payload, "alert_cycle_key"),
    }
    return [
        Alert(
            source="datadog",
            fingerprint=fingerprint,
            status=status,
            labels=labels,
            annotations={k: v for k, v in annotations.items() if v is not None},
            starts_at=timestamp(_first(payload, "date"), "date"),
            raw=payload,
        )
    ]
