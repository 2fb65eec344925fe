"""Observability: Prometheus metrics from the real product, the Grafana dashboard, JSON logs.

Metrics live in the process-global default registry and other tests move them too: every check
reads /metrics before and after and asserts on the increase.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from workers.main import serve_worker_metrics
from conftest import Harness
from runbooks.telemetry import logs
from runbooks.storage.migrate import create_schema
from runbooks.storage.engine import make_engine
from runbooks.storage.tables import ExecutionRow, utcnow
from runbooks.contract import Decision, ExecutionState, StepState
from runbooks.model import Mode, Risk
from runbooks.storage.store import Store
from test_engine_e2e import alert_payload, decide, fire

DASHBOARD = Path(__file__).parent.parent / "deploy" / "grafana" / "living-runbooks.json"
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


def test_each_decision_is_recorded_and_observed_once_even_when_the_save_is_retried(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine)
    store = Store(engine)
    waited = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    store.create_execution(ExecutionRow(id="ex-once", runbook_id="rb", runbook_version=1, mode="copilot",
                                        status="running", started_at=utcnow()))
    step = StepState(id="s1", title="S1", position=1, risk=Risk.yellow, risk_reason="", target="local",
                     waiting_since=waited)
    state = ExecutionState(execution_id="ex-once", runbook_id="rb", runbook_version=1, mode=Mode.copilot,
                           steps=[step])
    assert store.save_state(state) == []
    step.decision = Decision(step_id="s1", approved=True, actor="alice", decided_at=waited + timedelta(seconds=42))
    recorded = store.save_state(state)
    assert [s.id for s in recorded] == ["s1"] and recorded[0].waiting_since == waited
    assert store.save_state(state) == [], "a retried save records (and so observes) nothing twice"
    assert store.execution_counts() == {"running": 1}


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


def test_the_worker_serves_the_same_registry_on_its_own_port() -> None:
    assert serve_worker_metrics(0) is None, "0 disables"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, _thread = serve_worker_metrics(port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "runbooks_step_duration_seconds" in text and "runbooks_approval_wait_seconds" in text
        assert serve_worker_metrics(port) is None, "a busy port is logged, the worker still runs"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def root_logging() -> Iterator[None]:
    """configure() replaces the root handlers: give pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_json_logs_carry_the_execution_id_inside_an_activity() -> None:
    out = io.StringIO()
    with root_logging():
        logs.configure("INFO", json=True, stream=out)
        log = logging.getLogger("runbooks.activities")

        @activity.defn(name="logging_probe")
        def probe() -> None:
            log.info("running step %s", "s1", extra={"execution_id": "ex-explicit", "step_id": "s1"})
            log.warning("no extra given")
            try:
                raise ValueError("boom")
            except ValueError:
                log.exception("failed")

        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, workflow_id="ex-from-activity")
        env.run(probe)
        logging.getLogger("runbooks.api").info("outside any activity", extra={"runbook_id": "rb-1"})

    explicit, implicit, failed, outside = [json.loads(line) for line in out.getvalue().splitlines()]
    assert explicit["message"] == "running step s1" and explicit["level"] == "INFO"
    assert explicit["logger"] == "runbooks.activities"
    assert (explicit["execution_id"], explicit["step_id"]) == ("ex-explicit", "s1"), "extra wins"
    assert implicit["execution_id"] == "ex-from-activity" and "step_id" not in implicit
    assert failed["level"] == "ERROR" and "ValueError: boom" in failed["exc"]
    assert outside == {"ts": outside["ts"], "level": "INFO", "logger": "runbooks.api",
                       "message": "outside any activity", "runbook_id": "rb-1"}
    assert datetime.fromisoformat(outside["ts"]).tzinfo is not None


def test_text_logs_append_the_execution_id() -> None:
    out = io.StringIO()
    with root_logging():
        logs.configure("info", json=False, stream=out)
        logging.getLogger("runbooks.worker").info("hello", extra={"execution_id": "ex-9"})
        logging.getLogger("runbooks.worker").debug("hidden")
    line, = out.getvalue().splitlines()
    assert line.endswith("INFO runbooks.worker: hello [execution_id=ex-9]")
