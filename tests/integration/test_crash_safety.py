"""Nothing lost across crashes: every alert ends with exactly one execution, and every execution finishes.

Temporal's workflow-id policy is the deduplication and the database follows what Temporal holds:
the workflow starts first, its row is written after it (and by the workflow's own first save). The
drills kill real processes with -9 in the middle of a storm of distinct alerts, restart them on
the same state, re-deliver every alert as Alertmanager does after a failed delivery, and count
executions in the database and in Temporal, and how often each step ran (tests/support/crash.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from cli.devserver import start_dev_server
from services.context import KnownExecutions
from services.ingest import receive
from services.sources import Delivery
from support import crash
from support.harness import Harness, grant, make_settings, throwaway_postgres
from support.postgres import PrivateCluster
from support.processes import Fleet, free_port

pytestmark = pytest.mark.postgres


def _assert_clean(report: crash.DrillReport, all_succeed: bool = True) -> None:
    """No alert lost or doubled, no yellow step twice. `all_succeed=False` where a worker died with a
    yellow step in flight: that step is not retried (it may have run), so its execution fails and
    rolls back, which is finishing too."""
    print(report.line())
    assert not report.lost, f"alerts lost: {report.lost}"
    assert not report.duplicated, f"alerts with two executions: {report.duplicated}"
    assert not report.yellow_twice, f"yellow steps that ran twice: {report.yellow_twice}"
    if all_succeed:
        assert not report.not_succeeded, f"executions that did not succeed: {report.not_succeeded}"


# -- the window itself, deterministically -----------------------------------------------------------

class Crash(BaseException):
    """The process dying: not an error anything may catch and handle."""


async def test_a_crash_between_starting_the_workflow_and_writing_its_row_loses_nothing(
        harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "window.log"
    first, second = crash.storm_payloads(2, log, f"win-{uuid.uuid4().hex[:6]}")
    svc = harness.http._transport.app.state.services  # type: ignore[attr-defined]

    def die(_row: object) -> str:
        raise Crash

    monkeypatch.setattr(svc.store, "record_execution", die)
    for payload in (first, second):
        with pytest.raises(Crash):
            await receive(svc, Delivery(source="alertmanager", body=json.dumps(payload).encode(),
                                        headers={"content-type": "application/json"}))
    monkeypatch.undo()
    svc.known = KnownExecutions()  # the process that restarts remembers nothing

    # The first alert is re-delivered; the second never is: its workflow writes its own row.
    resp = await harness.http.post("/api/v1/alerts/alertmanager", json=first)
    assert resp.status_code == 202, resp.text
    rows = await asyncio.to_thread(_finished_rows, harness, 2)
    assert sorted(r["alert_fingerprint"] for r in rows) == sorted(p["alerts"][0]["fingerprint"] for p in (first, second))
    assert all(r["alertname"] == crash.STORM_ALERT and r["status"] == "succeeded" for r in rows), rows
    assert resp.json()["executions"][0]["id"] in {r["id"] for r in rows}
    workflows = await crash.temporal_workflows(harness.settings.temporal_address)
    assert all(len(workflows[r["id"]]) == 1 for r in rows), "one workflow each"
    assert sorted(crash.step_runs(log).values()) == [1, 1, 1, 1], "each step of each alert ran once"


def _finished_rows(h: Harness, expected: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        rows = h.store.list_executions(runbook_id=crash.STORM_RUNBOOK)
        if len(rows) >= expected and all(r.status in crash.TERMINAL for r in rows):
            return [r.model_dump(mode="json") for r in rows]
        assert time.monotonic() < deadline, [r.model_dump(mode="json") for r in rows]
        time.sleep(0.2)


# -- kill -9 of real processes ----------------------------------------------------------------------

async def test_kill_9_of_the_api_alone_during_a_storm_then_redelivery_gives_one_execution_per_alert(
        temporal_address: str, tmp_path: Path) -> None:
    log = tmp_path / "storm.log"
    payloads = crash.storm_payloads(60, log, f"api-{uuid.uuid4().hex[:6]}")
    with throwaway_postgres("lr_crash") as url, \
            Fleet(make_settings(tmp_path, temporal_address, url), tmp_path) as fleet:
        fleet.worker()
        api = fleet.api()
        reader = grant(fleet.settings, "drill", "viewer")
        codes = await asyncio.to_thread(crash.send, api.url, payloads, kill_after=20, kill=api.kill9)
        assert not api.alive and codes.count(None) > 0, "the API died in the middle of the storm"

        api = fleet.api()
        began = time.monotonic()
        codes = await asyncio.to_thread(crash.resend_until_accepted, api.url, payloads)
        assert codes == [202] * len(payloads), codes
        rows = await asyncio.to_thread(crash.wait_finished, api.url, len(payloads), 90, reader)
        report = crash.judge(payloads, rows, await crash.temporal_workflows(temporal_address), log,
                             time.monotonic() - began)
    _assert_clean(report)


async def test_kill_9_of_the_whole_dev_tree_during_a_storm_then_restart_and_redelivery_loses_nothing(
        tmp_path: Path) -> None:
    env, out, log = crash.dev_env(tmp_path / "state"), tmp_path / "dev.log", tmp_path / "storm.log"
    api = f"http://127.0.0.1:{env['API_PORT']}"
    payloads = crash.storm_payloads(60, log, f"dev-{uuid.uuid4().hex[:6]}")
    dev = crash.start_dev(env, out)
    try:
        codes = await asyncio.to_thread(crash.send, api, payloads, kill_after=20,
                                        kill=lambda: crash.kill9_tree(dev.pid))
        dev.wait(10)
        assert codes.count(None) > 0, "the storm was cut short by the crash"

        dev = crash.start_dev(env, out)
        began = time.monotonic()
        codes = await asyncio.to_thread(crash.resend_until_accepted, api, payloads)
        assert codes == [202] * len(payloads), codes
        rows = await asyncio.to_thread(crash.wait_finished, api, len(payloads), 120,
                                       crash.admin_headers(tmp_path / "state"))
        report = crash.judge(payloads, rows, await crash.temporal_workflows(env["TEMPORAL_ADDRESS"]), log,
                             time.monotonic() - began)
    finally:
        crash.kill9_tree(dev.pid)
    _assert_clean(report, all_succeed=False)


async def test_kill_9_of_the_temporal_server_mid_execution_then_restart_finishes_all_and_repeats_no_yellow_step(
        tmp_path: Path) -> None:
    address, ui_port, state = f"127.0.0.1:{free_port()}", free_port(), tmp_path / "temporal"
    log = tmp_path / "storm.log"
    payloads = crash.storm_payloads(20, log, f"tmp-{uuid.uuid4().hex[:6]}", pause=2)
    server = start_dev_server(state, address, ui_port, "default")
    try:
        with throwaway_postgres("lr_crash") as url, \
                Fleet(make_settings(tmp_path, address, url), tmp_path) as fleet:
            fleet.worker()
            api = fleet.api()
            reader = grant(fleet.settings, "drill", "viewer")
            codes = await asyncio.to_thread(crash.send, api.url, payloads)
            assert codes == [202] * len(payloads), codes
            await asyncio.to_thread(_wait_for_lines, log, "change", 1)  # yellow steps are in flight
            server.kill()
            server.wait()
            await asyncio.sleep(1)
            server = start_dev_server(state, address, ui_port, "default")  # the same database file
            began = time.monotonic()
            rows = await asyncio.to_thread(crash.wait_finished, api.url, len(payloads), 120, reader)
            report = crash.judge(payloads, rows, await crash.temporal_workflows(address), log,
                                 time.monotonic() - began)
    finally:
        server.kill()
        server.wait()
    _assert_clean(report)


def _wait_for_lines(log: Path, step: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sum(n for (s, _), n in crash.step_runs(log).items() if s == step) < count:
        assert time.monotonic() < deadline, f"no {step!r} line in {log} within {timeout:g} s"
        time.sleep(0.05)


async def test_postgresql_stopped_for_20_s_gets_503s_retried_records_and_loses_nothing(
        temporal: WorkflowEnvironment, temporal_address: str, tmp_path: Path) -> None:
    log = tmp_path / "storm.log"
    tag = f"pg-{uuid.uuid4().hex[:6]}"
    during_run, during_outage = crash.storm_payloads(20, log, tag, pause=6)[:10], []
    during_outage = crash.storm_payloads(20, log, tag, pause=0.3)[10:]
    cluster = PrivateCluster()
    cluster.start()
    try:
        with Fleet(make_settings(tmp_path, temporal_address, cluster.url), tmp_path) as fleet:
            fleet.worker()
            api = fleet.api()
            reader = grant(fleet.settings, "drill", "viewer")
            assert await asyncio.to_thread(crash.send, api.url, during_run) == [202] * 10
            await asyncio.to_thread(_wait_for_lines, log, "look", 10)  # their yellow steps are running now
            cluster.stop()
            stopped = time.monotonic()
            codes = await asyncio.to_thread(crash.send, api.url, during_outage)
            async with httpx.AsyncClient(base_url=api.url) as http:
                refused = await http.post("/api/v1/alerts/alertmanager", json=during_outage[0])
            await asyncio.sleep(max(0.0, 20 - (time.monotonic() - stopped)))
            cluster.start()
            began = time.monotonic()
            assert codes == [503] * 10, codes
            assert refused.status_code == 503 and "database" in refused.text, refused.text
            assert await asyncio.to_thread(crash.resend_until_accepted, api.url, during_outage) == [202] * 10
            payloads = during_run + during_outage
            rows = await asyncio.to_thread(crash.wait_finished, api.url, len(payloads), 120, reader)
            report = crash.judge(payloads, rows, await crash.temporal_workflows(temporal_address), log,
                                 time.monotonic() - began)
            async with httpx.AsyncClient(base_url=api.url, headers=reader) as http:
                details = [(await http.get(f"/api/v1/executions/{r['id']}")).json() for r in rows]
    finally:
        cluster.close()
    _assert_clean(report)
    assert all([s["status"] for s in d["steps"]] == ["succeeded", "succeeded"] for d in details), \
        "every step's record reached the database once it was back"
