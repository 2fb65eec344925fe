"""Observability: Prometheus metrics from the real product, the Grafana dashboard, JSON logs.

Metrics live in the process-global default registry and other tests move them too: every check
reads /metrics before and after and asserts on the increase.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from support.alerts import alert_payload, decide, fire
from support.harness import Harness
from support.paths import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "living-runbooks.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


class Scrape:
    def __init__(self, text: str):
        self.families = list(text_string_to_metric_families(text))

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 when none yet)."""
        return sum(s.value for f in self.families for s in f.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def names(self) -> set[str]:
        """Every series name a PromQL query could use, samples or not yet."""
        out = set()
        for f in self.families:
            out.update(f.name + suffix for suffix in SUFFIXES.get(f.type, ("",)))
            out.update(s.name for s in f.samples)
        return out


async def scrape(h: Harness) -> Scrape:
    resp = await h.http.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return Scrape(resp.text)


async def test_an_approved_execution_shows_in_every_metric(harness: Harness, tmp_path: Path) -> None:
    before = await scrape(harness)
    fingerprint = f"fp-{uuid.uuid4().hex[:12]}"
    ex = await fire(harness, "E2EChange", tmp_path / "run.log", fingerprint=fingerprint)
    for step in ("change-a", "change-b", "risky-change"):
        await decide(harness, ex, step, "approve")
    await harness.wait_for(ex, "succeeded")
    after = await scrape(harness)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert grew("runbooks_alerts_received_total", source="alertmanager", status="firing") == 1
    assert grew("runbooks_executions_started_total", runbook_id="e2e-change") == 1
    assert after.value("runbooks_executions", status="succeeded") >= 1
    assert after.value("runbooks_executions", status="waiting_approval") == 0, "every status is exported"
    assert grew("runbooks_matches_total", result="runbook") == 1
    assert grew("runbooks_match_seconds_count") == 1, "a new alert's labels miss the cache"
    for risk, steps in (("green", 1), ("yellow", 2), ("red", 1)):
        assert grew("runbooks_step_duration_seconds_count", risk=risk, outcome="ok", kind="step") == steps, risk
    assert grew("runbooks_step_duration_seconds_sum", risk="green") > 0
    assert grew("runbooks_approval_wait_seconds_count", risk="yellow", decision="approved") == 2
    assert grew("runbooks_approval_wait_seconds_count", risk="red", decision="approved") == 1
    assert grew("runbooks_approval_wait_seconds_sum", decision="approved") > 0

    # The same alert again: the execution exists, so nothing new started (the alert still counts).
    again = await harness.http.post("/api/v1/alerts/alertmanager",
                                    json=alert_payload("E2EChange", tmp_path / "run.log", fingerprint=fingerprint))
    assert again.status_code == 202 and again.json()["executions"][0]["id"] == ex
    last = await scrape(harness)
    assert last.value("runbooks_executions_started_total", runbook_id="e2e-change") == \
        after.value("runbooks_executions_started_total", runbook_id="e2e-change")
    assert last.value("runbooks_alerts_received_total", source="alertmanager", status="firing") == \
        after.value("runbooks_alerts_received_total", source="alertmanager", status="firing") + 1
    assert last.value("runbooks_match_seconds_count") == after.value("runbooks_match_seconds_count"), "cached"
    assert last.value("runbooks_matches_total", result="runbook") == after.value(
        "runbooks_matches_total", result="runbook") + 1


async def test_a_failed_step_and_an_unmatched_alert_are_counted(harness: Harness, tmp_path: Path) -> None:
    before = await scrape(harness)
    ex = await fire(harness, "E2EFailing", tmp_path / "run.log")
    await harness.wait_for(ex, "rolled_back", "failed")
    unmatched = await harness.http.post("/api/v1/alerts/alertmanager", json={"version": "4", "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "QuantumFluxCapacitorMisaligned"},
                    "annotations": {}, "fingerprint": "fp-q"}]})
    assert unmatched.status_code == 202 and unmatched.json()["unmatched"] == ["fp-q"]
    after = await scrape(harness)

    assert after.value("runbooks_step_duration_seconds_count", outcome="failed", kind="step") - \
        before.value("runbooks_step_duration_seconds_count", outcome="failed", kind="step") == 1
    assert after.value("runbooks_step_duration_seconds_count", outcome="ok", kind="rollback") - \
        before.value("runbooks_step_duration_seconds_count", outcome="ok", kind="rollback") == 1
    assert after.value("runbooks_matches_total", result="none") - before.value("runbooks_matches_total",
                                                                                result="none") == 1
    assert after.value("runbooks_executions", status="rolled_back") >= 1
    assert after.value("runbooks_runbook_executions", runbook_id="e2e-failing", status="rolled_back") == 1, \
        "per runbook: how its runs ended"


async def test_refused_deliveries_are_counted_by_source_and_code(harness: Harness) -> None:
    before = await scrape(harness)
    malformed = await harness.http.post("/api/v1/alerts/alertmanager", content=b"{not json")
    unknown = await harness.http.post("/api/v1/alerts/no-such-source-x1", json={})
    assert (malformed.status_code, unknown.status_code) == (400, 404)
    after = await scrape(harness)

    def grew(**labels: str) -> float:
        name = "runbooks_alert_deliveries_rejected_total"
        return after.value(name, **labels) - before.value(name, **labels)

    assert grew(source="alertmanager", code="400") == 1
    assert grew(source="unknown", code="404") == 1, "a free-text path never becomes a label value"
    assert after.value("runbooks_alerts_received_total") == before.value("runbooks_alerts_received_total")


async def test_the_dashboard_only_queries_metrics_the_product_exposes(harness: Harness) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    exposed = (await scrape(harness)).names()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 8 and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
            names = set(re.findall(r"\brunbooks_[a-z_]+", target["expr"]))
            assert names, f"{panel['title']}: {target['expr']}"
            assert names <= exposed, f"{panel['title']}: not exposed: {names - exposed}"
    titles = " / ".join(p["title"] for p in panels).lower()
    for needed in ("alerts received", "rejected", "executions by status", "started by runbook", "step duration",
                   "approval wait", "matching latency", "unmatched"):
        assert needed in titles, needed
