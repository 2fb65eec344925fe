"""Logs and metrics without a server: JSON or text log lines with the execution id, the worker's own
/metrics port, and each approval observed exactly once."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from runbooks.contract import Decision, ExecutionState, StepState
from runbooks.model import Mode, Risk
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from runbooks.storage.tables import ExecutionRow, utcnow
from runbooks.telemetry import logs
from workers.metrics import serve_worker_metrics


def test_each_decision_is_recorded_and_observed_once_even_when_the_save_is_retried(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine)
    store = Store(engine)
    waited = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    store.record_execution(ExecutionRow(id="ex-once", runbook_id="rb", runbook_version=1, mode="copilot",
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
