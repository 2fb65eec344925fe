"""Executions started on older workflow code replay on today's: every recorded history must replay.

A running execution (some wait days for an approval) is replayed from its history on whichever
worker picks it up. If the workflow code now schedules something else (another activity, a timer
more or less, another order), the replay fails with a non-determinism error and the execution
stalls in production. These histories were recorded by tests/support/record_histories.py (README,
"Changing workflow code").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from support.paths import HISTORIES
from workers.main import WORKFLOWS

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_every_path_through_the_workflow_has_a_recorded_history() -> None:
    names = {p.stem for p in RECORDED}
    assert {"approve", "reject_rollback", "failed_step", "cancel", "missing_values", "dry_run",
            "escalation_timers", "escalation_answered", "starter_approves_red", "approval_without_values", "drill", "drill_on_sandbox", "incident_report", "connection_sync"} <= names


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_a_recorded_execution_replays_on_the_current_workflow_code(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)  # raises on non-determinism
