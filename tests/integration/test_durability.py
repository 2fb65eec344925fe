"""Durability: a worker killed with -9 mid-execution is replaced, and no step that changes things runs twice.

A green (read-only) step on the worker's host is a local activity: its result is recorded with the
workflow task it ran in, so a worker killed before that task completed runs it again elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from support.alerts import decide, fire, lines
from support.harness import make_settings, running_product
from support.processes import start_worker


async def test_killing_the_worker_mid_execution_loses_nothing_and_repeats_nothing(
        temporal: WorkflowEnvironment, temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address)
    worker_log = tmp_path / "worker.log"
    log = tmp_path / "run.log"
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        worker = start_worker(settings, worker_log)
        try:
            ex = await fire(h, "E2EChange", log)
            await h.wait_for(ex, "waiting_approval", step="change-a")
            worker.kill9()

            worker = start_worker(settings, worker_log)
            await decide(h, ex, "change-a", "approve")
            await h.wait_for(ex, "waiting_approval", step="change-b")
            worker.kill9()

            worker = start_worker(settings, worker_log)
            await decide(h, ex, "change-b", "approve")
            await decide(h, ex, "risky-change", "approve")
            body = await h.wait_for(ex, "succeeded", timeout=30)
        finally:
            worker.kill9()
    ran = lines(log)
    assert [line for line in ran if line != "check"] == ["change-a", "change-b", "risky"], \
        "every step that changes things ran exactly once"
    assert 1 <= ran.count("check") <= 2 and ran[0] == "check", "the read-only check ran, at most once more"
    assert [s["status"] for s in body["steps"]] == ["succeeded"] * 4
