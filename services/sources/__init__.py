"""Alert sources: one adapter per tool, looked up by the name in the webhook URL.

`REGISTRY[name](delivery, settings)` verifies, parses and normalizes one delivery, or raises
`SourceError(status, reason)`; see services/sources/base.py for the contract and docs/sources.md for
what to paste into each tool.
"""

from __future__ import annotations

from services.sources import alertmanager, datadog, generic, grafana, opsgenie, pagerduty
from services.sources.base import Adapter, Delivery, SourceError

REGISTRY: dict[str, Adapter] = {
    "alertmanager": alertmanager.adapt,
    "grafana": grafana.adapt,
    "pagerduty": pagerduty.adapt,
    "opsgenie": opsgenie.adapt,
    "datadog": datadog.adapt,
    "generic": generic.adapt,
}

__all__ = ["REGISTRY", "Adapter", "Delivery", "SourceError"]
