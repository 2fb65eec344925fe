"""Durability: a worker killed with -9 mid-execution is replaced, and nothing runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from conftest import make_settings, running_product
from test_engine_e2e import decide, fire, lines

ROOT = Path(__file__).resolve().parent.parent


def start_worker(settings, log_file: Path) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "TEMPORAL_ADDRESS": settings.temporal_address, "TASK_QUEUE": settings.task_queue,
           "DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir),
           "HEARTBEAT_TIMEOUT_SECONDS": "5", "LOG_LEVEL": "INFO"}
    out = open(log_file, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while "worker polling" not in log_file.read_text(errors="replace"):
        assert proc.poll() is None, log_file.read_text()
        assert time.monotonic() < deadline, "worker did not start"
        time.sleep(0.1)
    return proc


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


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
            kill9(worker)

            worker = start_worker(settings, worker_log)
            await decide(h, ex, "change-a", "approve")
            await h.wait_for(ex, "waiting_approval", step="change-b")
            kill9(worker)

            worker = start_worker(settings, worker_log)
            await decide(h, ex, "change-b", "approve")
            await decide(h, ex, "risky-change", "approve")
            body = await h.wait_for(ex, "succeeded", timeout=30)
        finally:
            kill9(worker)
    assert lines(log) == ["check", "change-a", "change-b", "risky"], "every step ran exactly once"
    assert [s["status"] for s in body["steps"]] == ["succeeded"] * 4
