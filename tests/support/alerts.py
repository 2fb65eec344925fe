"""Alerts as Alertmanager sends them, and the steps of a test runbook seen through the API.

The test runbooks append one line per command to a log file named by the alert's `log` label, so
a test can read exactly what ran, in which order, and how many times.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

from support.harness import Harness


def alert_payload(alertname: str, log: Path, status: str = "firing", fingerprint: str | None = None) -> dict:
    fingerprint = fingerprint or f"fp-{uuid.uuid4().hex[:12]}"
    return {
        "version": "4", "status": status, "receiver": "living-runbooks", "groupKey": "{}:{}",
        "groupLabels": {"alertname": alertname}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": alertname, "severity": "critical", "instance": "web-1", "log": str(log)},
            "annotations": {"summary": "test alert"},
            "startsAt": datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc).isoformat(),
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint,
        }],
    }


def lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


async def fire(h: Harness, alertname: str, log: Path, **kw) -> str:
    resp = await h.http.post("/api/v1/alerts/alertmanager", json=alert_payload(alertname, log, **kw))
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert len(body["executions"]) == 1, body
    return body["executions"][0]["id"]


async def decide(h: Harness, execution_id: str, step: str, verdict: str, actor: str = "alice") -> None:
    await h.wait_for(execution_id, "waiting_approval", step=step)
    resp = await h.http.post(f"/api/v1/executions/{execution_id}/steps/{step}/{verdict}",
                             json={"comment": f"{verdict} in test"}, headers=h.auth(actor))
    assert resp.status_code == 202, resp.text
