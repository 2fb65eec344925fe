"""Alert routes as a source sees them: signatures enforced, matching explained, coverage gaps listed."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from support.harness import Harness, make_settings, running_product
from support.paths import DATA

PD_SECRET = "pd-route-s3cret"
PAGERDUTY = json.loads((DATA / "sources" / "pagerduty.json").read_text())


@pytest.fixture
async def pagerduty_harness(monkeypatch: pytest.MonkeyPatch, temporal, temporal_address: str, tmp_path: Path):
    """The product started with PAGERDUTY_WEBHOOK_SECRET set (settings are read once, at start)."""
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRET", PD_SECRET)
    async with running_product(temporal.client, make_settings(tmp_path, temporal_address), tmp_path) as h:
        yield h


def am_body(alertname: str, **labels: str) -> dict:
    return {"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": alertname, **labels}, "fingerprint": f"fp-{alertname}",
        "annotations": {"summary": f"{alertname} fired"}}]}


async def test_a_wrong_or_missing_signature_is_401_and_starts_nothing(pagerduty_harness: Harness) -> None:
    harness, pagerduty_secret = pagerduty_harness, PD_SECRET
    body = json.dumps(PAGERDUTY).encode()
    missing = await harness.http.post("/api/v1/alerts/pagerduty", content=body)
    wrong = await harness.http.post("/api/v1/alerts/pagerduty", content=body,
                                    headers={"X-PagerDuty-Signature": "v1=" + "0" * 64})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "X-PagerDuty-Signature" in missing.json()["detail"] and PD_SECRET not in wrong.text
    assert (await harness.http.get("/api/v1/alerts")).json()["alerts"] == [], "nothing recorded, nothing started"
    assert (await harness.http.get("/api/v1/alerts/rejected")).json() == [], "unauthenticated bodies are not kept"

    signature = hmac.new(pagerduty_secret.encode(), body, hashlib.sha256).hexdigest()
    good = await harness.http.post("/api/v1/alerts/pagerduty", content=body,
                                   headers={"X-PagerDuty-Signature": f"v1={signature}"})
    assert good.status_code == 202, good.text
    recorded = (await harness.http.get("/api/v1/alerts", params={"source": "pagerduty"})).json()["alerts"]
    assert len(recorded) == 1 and recorded[0]["source"] == "pagerduty"


async def test_match_explains_without_starting_anything(harness: Harness) -> None:
    body = {"version": "4", "status": "firing", "alerts": [
        am_body("E2EChange", instance="web-1")["alerts"][0],
        am_body("QuantumFluxCapacitorMisaligned", instance="web-2")["alerts"][0]]}
    answers = (await harness.http.post("/api/v1/match", json=body)).json()
    assert [a["runbook_id"] for a in answers] == ["e2e-change", None]
    first, second = answers
    assert first["source_path"] == "e2e-change.md" and first["score"] == 1.0 and "alertname=E2EChange" in first["reason"]
    assert second["score"] < 1.0 and second["reason"] and len(second["candidates"]) <= 3
    assert (await harness.http.get("/api/v1/executions")).json() == [], "matching starts nothing"
    assert (await harness.http.get("/api/v1/alerts")).json()["alerts"] == [], "and records nothing"


async def test_unmatched_alerts_are_listed_with_counts_per_name(harness: Harness) -> None:
    for _ in range(3):
        await harness.http.post("/api/v1/alerts/alertmanager", json=am_body("NobodyCoversThis", instance="a"))
    await harness.http.post("/api/v1/alerts/alertmanager", json=am_body("NorThisOne", instance="b"))
    gaps = (await harness.http.get("/api/v1/alerts", params={"matched": "false"})).json()
    assert [(c["alertname"], c["count"]) for c in gaps["by_alertname"]] == [("NobodyCoversThis", 3), ("NorThisOne", 1)]
    assert {a["alertname"] for a in gaps["alerts"]} == {"NobodyCoversThis", "NorThisOne"}
    assert all(a["runbook_id"] is None for a in gaps["alerts"])
