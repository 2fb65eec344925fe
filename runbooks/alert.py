"""One alert model, whatever the source: what matching, templating and records work from."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Alert(BaseModel):
    source: str
    fingerprint: str
    status: str  # firing | resolved
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
    generator_url: str | None = None  # the rule's page (Prometheus: its PromQL is in `g0.expr`), a matching signal

    @property
    def alertname(self) -> str | None:
        return self.labels.get("alertname")

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")

    @property
    def firing(self) -> bool:
        return self.status == "firing"


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stable identity for sources that send none: the sorted label set, hashed."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
