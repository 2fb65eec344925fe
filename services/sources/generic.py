"""Generic JSON webhook: any tool that can POST JSON and sign it, mapped with GENERIC_WEBHOOK_MAPPING.

Authentication is an HMAC-SHA256 of the raw body under GENERIC_WEBHOOK_SECRET, sent GitHub-style
as `X-Signature-256: sha256=<hex>`. A sender that also sends `X-Signature-Timestamp: <unix seconds>`
signs `<timestamp>.<body>` instead and gets replay protection: deliveries older (or newer) than
GENERIC_WEBHOOK_TOLERANCE_SECONDS are refused. Without the secret every delivery is refused.

The mapping says where our fields are in the posted JSON, as dotted paths (`a.b.0.c`, digits index
arrays) relative to each alert; `alerts` is relative to the body and, when unset, the body is one
alert or an array of them. Defaults (docs/sources.md) read a body shaped like our own model.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runbooks.alert import Alert, label_fingerprint
from runbooks.settings import Settings, SourceSettings
from services.sources.auth import any_signature_matches, hmac_sha256_hex, require_secret
from services.sources.base import Delivery, SourceError
from services.sources.parsing import check_count, load_json, obj, scalar, str_map, timestamp, wrong

SIGNATURE, TIMESTAMP = "x-signature-256", "x-signature-timestamp"
_MISSING = object()


class StatusValues(BaseModel):
    model_config = ConfigDict(extra="forbid")
    firing: list[str] = ["firing", "triggered", "trigger", "alerting", "alert", "problem", "open", "active"]
    resolved: list[str] = ["resolved", "resolve", "recovered", "ok", "closed", "normal", "inactive"]


class GenericMapping(BaseModel):
    """Paths of our fields in the posted JSON; null switches a field off."""

    model_config = ConfigDict(extra="forbid")
    alerts: str | None = None
    fingerprint: str | None = "fingerprint"
    status: str | None = "status"
    status_values: StatusValues = Field(default_factory=StatusValues)
    default_status: Literal["firing", "resolved"] = "firing"
    labels: str | None = "labels"
    annotations: str | None = "annotations"
    alertname: str | None = "alertname"
    severity: str | None = "severity"
    starts_at: str | None = "starts_at"

    @field_validator("alerts", "fingerprint", "status", "labels", "annotations", "alertname", "severity", "starts_at")
    @classmethod
    def _dotted(cls, path: str | None) -> str | None:
        if path is not None and not all(path.split(".")):
            raise ValueError(f"{path!r} is not a dotted path like `a.b.0.c`")
        return path


@lru_cache(maxsize=8)
def parse_mapping(text: str | None) -> GenericMapping:
    """The mapping, or a 500: a broken mapping is the server's configuration, not the sender's fault."""
    try:
        return GenericMapping.model_validate(json.loads(text) if text else {})
    except (ValueError, ValidationError) as exc:  # ValidationError is a ValueError; named for the reader
        raise SourceError(500, f"GENERIC_WEBHOOK_MAPPING is invalid: {str(exc).splitlines()[0][:300]}") from None


def resolve(data: Any, path: str) -> Any:
    """The value at a dotted path, or `_MISSING`."""
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.lstrip("-").isdigit() and -len(data) <= int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def verify(delivery: Delivery, sources: SourceSettings) -> None:
    secret = require_secret(sources.generic_webhook_secret, "GENERIC_WEBHOOK_SECRET")
    header = delivery.headers.get(SIGNATURE, "").strip()
    if not header:
        raise SourceError(401, "missing X-Signature-256 header (sha256=<hex HMAC-SHA256 of the body>)")
    if not header.lower().startswith("sha256="):
        raise SourceError(401, "X-Signature-256 must be sha256=<hex>")
    message = delivery.body
    if TIMESTAMP in delivery.headers:
        stamp = delivery.headers[TIMESTAMP].strip()
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise SourceError(401, "X-Signature-Timestamp must be Unix seconds")
        if abs(time.time() - int(stamp)) > sources.generic_webhook_tolerance_seconds:
            raise SourceError(
                401,
                f"X-Signature-Timestamp is more than {sources.generic_webhook_tolerance_seconds} s "
                "from now (a replay, or a clock out of sync)",
            )
        message = stamp.encode() + b"." + delivery.body
    if not any_signature_matches(hmac_sha256_hex(secret, message), [header[7:]]):
        raise SourceError(401, "X-Signature-256 does not match the body signed with GENERIC_WEBHOOK_SECRET")


def _items(data: Any, mapping: GenericMapping) -> tuple[list[Any], str | None]:
    """The alerts and the path they are under: None for a body that is one alert, "" for a body that is an array."""
    if mapping.alerts is None:
        return (data, "") if isinstance(data, list) else ([data], None)
    items = resolve(data, mapping.alerts)
    if items is _MISSING:
        raise SourceError(422, f"{mapping.alerts}: missing (GENERIC_WEBHOOK_MAPPING.alerts says the alerts are there)")
    if not isinstance(items, list):
        raise wrong(mapping.alerts, "an array of alerts", items)
    return items, mapping.alerts


def _field(item: dict[str, Any], path: str | None) -> Any:
    return None if path is None or (value := resolve(item, path)) is _MISSING else value


def _alert(item: Any, where: str, mapping: GenericMapping) -> Alert:
    def at(path: str | None) -> str:  # the path a reason names: `alerts[2].labels`, or `labels` for a lone alert
        return f"{where}.{path}" if where else (path or "")

    item = obj(item, where or "body")
    labels = str_map(_field(item, mapping.labels), at(mapping.labels))
    annotations = str_map(_field(item, mapping.annotations), at(mapping.annotations))
    for key in ("alertname", "severity"):
        path = getattr(mapping, key)
        if path and (value := scalar(_field(item, path), at(path))) is not None:
            labels[key] = value
    if not labels.get("alertname", "").strip():
        raise SourceError(
            422,
            f"{at(mapping.alertname or 'alertname')}: missing, and no alertname label; the alert "
            "needs a name (set GENERIC_WEBHOOK_MAPPING.alertname)",
        )
    status_text = scalar(_field(item, mapping.status), at(mapping.status))
    status = mapping.default_status if status_text is None else _status(status_text, at(mapping.status), mapping)
    fingerprint = scalar(_field(item, mapping.fingerprint), at(mapping.fingerprint)) or label_fingerprint(labels)
    starts_at = timestamp(_field(item, mapping.starts_at), at(mapping.starts_at))
    return Alert(
        source="generic",
        fingerprint=fingerprint,
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        raw=item,
    )


def _status(text: str, path: str, mapping: GenericMapping) -> str:
    for status in ("firing", "resolved"):
        if text.lower() in (v.lower() for v in getattr(mapping.status_values, status)):
            return status
    known = ", ".join(mapping.status_values.firing + mapping.status_values.resolved)
    raise SourceError(
        422, f"{path}: {text[:60]!r} is not a known status (known: {known}; set GENERIC_WEBHOOK_MAPPING.status_values)"
    )


def adapt(delivery: Delivery, settings: Settings) -> list[Alert]:
    """`POST /api/v1/alerts/generic`: HMAC first, then the body read through the mapping."""
    verify(delivery, settings.sources)
    mapping = parse_mapping(settings.sources.generic_webhook_mapping)
    items, base = _items(load_json(delivery.body), mapping)
    check_count(items, base or "body")
    return [_alert(item, "" if base is None else f"{base}[{i}]", mapping) for i, item in enumerate(items)]
