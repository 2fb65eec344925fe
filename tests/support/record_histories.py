"""Record workflow histories for the replay tests (tests/histories/*.json).

Each scenario runs the current RunbookExecution code on a real Temporal server (the dev server,
or the time-skipping test server for the escalation chain) with the real activities, then saves
the execution's event history. tests/unit/test_replay.py replays every saved history against the workflow
code of the day: a change that alters what the workflow schedules fails it.

    .venv/bin/python tests/support/record_histories.py            # every scenario
    .venv/bin/python tests/support/record_histories.py approve    # only these

Record a new history when you add a path through the workflow; never re-record an old one to make
a failing replay pass (that hides exactly the break the test is there to catch): guard the change
with `workflow.patched` instead (README, "Changing workflow code").
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run as a script: the packages and tests/support

from activities.commands import CommandActivities  # noqa: E402
from cli.devserver import temporal_binary  # noqa: E402
from runbooks.contract import (  # noqa: E402
    BreakpointRequest, Decision, ExecutionState, IncidentReportPost, ResolvedNotice, ResumeRequest, Update,
)
from runbooks.settings import Settings  # noqa: E402
from runbooks.storage.engine import make_engine  # noqa: E402
from runbooks.storage.migrate import create_schema  # noqa: E402
from runbooks.storage.store import Store  # noqa: E402
from runbooks.targets import agent_queue  # noqa: E402
from support.inputs import ESCALATING, execution_input  # noqa: E402
from support.paths import HISTORIES as OUT  # noqa: E402
from support.paths import TEST_RUNBOOKS as RUNBOOKS  # noqa: E402
from workers.main import build_worker  # noqa: E402
from workflows import search_attributes as sa  # noqa: E402
from workflows.connection_sync import ConnectionSync  # noqa: E402
from workflows.incident_report import IncidentReport  # noqa: E402
from workflows.runbook_execution import RunbookExecution  # noqa: E402

async def until_waiting(handle: WorkflowHandle, step_id: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        state = await handle.query(RunbookExecution.progress, result_type=ExecutionState)
        st = state.step(step_id)
        if st is not None and st.status.value == "waiting_approval":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id}: step {step_id} never waited")


async def until_waiting_for(handle: WorkflowHandle, step_id: str, timeout: float = 30.0) -> None:
    """Until the step says what it waits for: an agent, a breakpoint, the alert to resolve."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (await handle.query(RunbookExecution.progress, result_type=ExecutionState)).step(step_id).waiting_for is None:
        assert asyncio.get_running_loop().time() < deadline, f"{handle.id}: step {step_id} never waited"
        await asyncio.sleep(0.1)


async def approve(handle: WorkflowHandle, step_id: str, actor: str = "alice", **values: str) -> None:
    await until_waiting(handle, step_id)
    await handle.signal(RunbookExecution.approve, Decision(step_id=step_id, approved=True, actor=actor,
                                                           values=values))


async def reject(handle: WorkflowHandle, step_id: str, actor: str = "bob") -> None:
    await until_waiting(handle, step_id)
    await handle.signal(RunbookExecution.reject, Decision(step_id=step_id, approved=False, actor=actor,
                                                          comment="not now"))


async def finished(handle: WorkflowHandle) -> None:
    try:
        await handle.result()
    except Exception:  # a rolled-back or failed execution ends as a workflow failure
        pass


Scenario = Callable[[Client, str, Path], Awaitable[WorkflowHandle]]


async def approve_path(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """Green runs, yellow and red wait and are approved, the alert resolves, chat is notified."""
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "approve.log", notify=True)
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "change-a")
    await h.signal(RunbookExecution.alert_resolved, ResolvedNotice(fingerprint="fp-1"))
    await approve(h, "change-b", actor="bob")
    await approve(h, "risky-change", actor="carol")
    await finished(h)
    return h


async def reject_and_rollback(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "reject.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "change-a")
    await approve(h, "change-b")
    await reject(h, "risky-change")
    await finished(h)
    return h


async def failed_step(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    inp = execution_input(RUNBOOKS / "e2e-failing.md", tmp / "failing.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await finished(h)
    return h


async def cancel(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "cancel.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "change-a")
    await until_waiting(h, "change-b")
    await h.cancel()
    await finished(h)
    return h


async def missing_values(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    inp = execution_input(RUNBOOKS / "needs-value.md", tmp / "needs.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "note-the-pod", **{"labels.pod": "web-7"})
    await finished(h)
    return h


async def dry_run(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "dry.log", mode="dry_run")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await finished(h)
    return h


async def escalation_timers(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """Nobody answers: notify, notify, then the timer rejects and the done step is rolled back."""
    inp = execution_input(ESCALATING, tmp / "escalation.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await finished(h)
    return h


async def escalation_answered(client: Client, queue: str, tmp: Path, env: WorkflowEnvironment) -> WorkflowHandle:
    inp = execution_input(ESCALATING, tmp / "answered.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await env.sleep(timedelta(minutes=7))
    await h.signal(RunbookExecution.approve, Decision(step_id="dangerous", approved=True, actor="erin"))
    await finished(h)
    return h


async def starter_approves_red(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A signal straight to Temporal that the doors refuse: the starter approving a red step. Ignored
    (workflow.patched "decision-rules-in-workflow"); a second person's approval runs it."""
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "rules.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "change-a")
    await approve(h, "change-b")
    await approve(h, "risky-change", actor=inp.started_by)
    await approve(h, "risky-change", actor="carol")
    await finished(h)
    return h


async def approval_without_values(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """An approval lacking the values the step needs is ignored; the one that brings them runs it."""
    inp = execution_input(RUNBOOKS / "needs-value.md", tmp / "rules-needs.log")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "note-the-pod")
    await approve(h, "note-the-pod", **{"labels.pod": "web-8"})
    await finished(h)
    return h


async def drill(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A fire drill (workflow.patched "fire-drills"): approvals asked, every step rehearsed, nothing runs."""
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "drill.log").model_copy(update={"drill": True})
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "change-a")
    await approve(h, "change-b")
    await approve(h, "risky-change", actor="carol")
    await finished(h)
    return h


async def drill_on_sandbox(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A fire drill whose steps run on a sandbox target, rejected at the red step: the sandbox rolls back."""
    inp = execution_input(RUNBOOKS / "e2e-change.md", tmp / "sandbox.log").model_copy(
        update={"drill": True, "drill_target": "local"})
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await approve(h, "change-a")
    await approve(h, "change-b")
    await reject(h, "risky-change")
    await finished(h)
    return h


AGENT_STEP = """# Agent step

## Steps

1. **In the DMZ**
   Target: agent:history-agent
   ```sh
   echo dmz >> {{ params.log }}
   ```
2. **At home**
   ```sh
   echo home >> {{ params.log }}
   ```
"""


async def agent_offline_then_back(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A step for an agent (workflow.patched "agent-targets"): nobody polls, it waits visibly; the agent comes."""
    inp = execution_input(AGENT_STEP, tmp / "agent.log", mode="autopilot").model_copy(
        update={"agent_offline_after_seconds": 1.0})
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await until_waiting_for(h, "in-the-dmz")
    commands = CommandActivities(Settings(), agent="history-agent")
    with ThreadPoolExecutor(4) as pool:
        async with Worker(client, task_queue=agent_queue("history-agent"), activities=[commands.run_command],
                          activity_executor=pool):
            await finished(h)
    return h


STEP_FLOW = """# Step flow

## Steps

1. **Look**
   ```sh
   echo "state: degraded"
   ```
2. **Only when healthy**
   If: steps.look.output =~ "healthy" or labels.env == "prod"
   ```sh
   echo never
   ```
3. **Flaky but safe**
   Retries: 2 every 1s
   Idempotent: yes
   ```sh
   echo try >> {{ params.log }}; awk 'END { exit NR < 2 }' {{ params.log }}
   ```
4. **Best effort**
   On failure: continue
   Breakpoint: yes
   ```sh
   exit 3
   ```
5. **Last word**
   ```sh
   echo done
   ```
"""


async def step_flow(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """If: skips, Retries: runs again, a breakpoint resumed, On failure: continue, a live breakpoint stepped over
    (workflow.patched "step-flow")."""
    inp = execution_input(STEP_FLOW, tmp / "flow.log", mode="autopilot")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await h.execute_update(Update.BREAKPOINT, BreakpointRequest(step_id="last-word", actor="alice"), result_type=str)
    for step_id, over in (("best-effort", False), ("last-word", True)):
        await until_waiting_for(h, step_id)
        await h.execute_update(Update.RESUME, ResumeRequest(step_id=step_id, actor="alice", step_over=over),
                               result_type=str)
    await finished(h)
    return h


PARALLEL = """# Parallel

## Steps

1. **Mark**
   Risk: yellow
   ```sh
   echo mark >> {{ params.log }}
   ```
   Rollback:
   ```sh
   echo unmark >> {{ params.log }}
   ```
2. **Slow member**
   Parallel: fleet
   ```sh
   sleep 1
   ```
3. **Failing member**
   Parallel: fleet
   ```sh
   exit 4
   ```
4. **Member that waits**
   Parallel: fleet
   Risk: red
   ```sh
   echo never >> {{ params.log }}
   ```
"""


async def parallel_fail_fast(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A parallel group (workflow.patched "step-flow"): one member fails, the running one finishes, the one
    waiting for approval is skipped, the step before is rolled back."""
    inp = execution_input(PARALLEL, tmp / "parallel.log", mode="autopilot")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await finished(h)
    return h


GATED = """# Gated

## Steps

1. **Hold the slot a moment**
   ```sh
   sleep 0.5
   ```
"""


async def rate_control(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """Two executions of a `concurrency: 1` runbook (workflow.patched "rate-control"): the second queues at
    the runbook's gate until the first ends, then runs. Records the second."""
    runbook_id, handles = f"gated-{uuid.uuid4().hex[:6]}", []
    for n in (1, 2):
        inp = execution_input(GATED, tmp / f"gate-{n}.log", mode="autopilot").model_copy(
            update={"concurrency": 1, "max_errors": 3, "runbook_id": runbook_id,
                    "execution_id": f"history-gated-{n}-{uuid.uuid4().hex[:6]}"})
        handles.append(await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue))
    for h in handles:
        await finished(h)
    return handles[1]


FAST = """# Fast green steps

## Steps

1. **Look**
   ```sh
   uptime
   ```
2. **Look again**
   ```sh
   df -h /
   ```
3. **Change**
   Risk: yellow
   ```sh
   echo changed >> {{ params.log }}
   ```
"""


async def fast_green_steps(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """Green local steps as local activities (workflow.patched "fast-green-steps"), then a regular one."""
    inp = execution_input(FAST, tmp / "fast.log", mode="autopilot")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await finished(h)
    return h


VERIFY = """# Verify

## Steps

1. **Apply the fix**
   ```sh
   echo check >> {{ params.log }}
   ```
2. **It holds**
   Verify: within 20s every 1s
   ```sh
   echo check >> {{ params.log }}; awk 'END { exit NR < 3 }' {{ params.log }}
   ```
3. **The alert is gone**
   Verify: alert resolved within 5m
"""


async def verify_steps(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A check passing on its second try, then a wait for the alert to resolve (workflow.patched "verify-steps")."""
    inp = execution_input(VERIFY, tmp / "verify.log", mode="autopilot")
    h = await client.start_workflow(RunbookExecution.run, inp, id=inp.execution_id, task_queue=queue)
    await until_waiting_for(h, "the-alert-is-gone")
    await h.signal(RunbookExecution.alert_resolved, ResolvedNotice(fingerprint="fp-1"))
    await finished(h)
    return h


async def incident_report(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """An ended incident's report posted to its threads (a logged no-op here: no Slack configured)."""
    post = IncidentReportPost(incident_id="inc-1", ending="7", title="E2EChange on instance=web-1",
                              markdown="# Incident: E2EChange on instance=web-1\n", execution_ids=["ex-1"])
    h = await client.start_workflow(IncidentReport.run, post, id=f"history-report-{uuid.uuid4().hex[:8]}",
                                    task_queue=queue)
    await h.result()
    return h


async def connection_sync(client: Client, queue: str, tmp: Path) -> WorkflowHandle:
    """A connection's scheduled sync: one activity (this connection is gone, so its report says so)."""
    h = await client.start_workflow(ConnectionSync.run, 404, id=f"history-sync-{uuid.uuid4().hex[:8]}",
                                    task_queue=queue)
    await h.result()
    return h


DEV_SERVER = {"approve": approve_path, "reject_rollback": reject_and_rollback, "failed_step": failed_step,
              "cancel": cancel, "missing_values": missing_values, "dry_run": dry_run,
              "starter_approves_red": starter_approves_red, "approval_without_values": approval_without_values,
              "drill": drill, "drill_on_sandbox": drill_on_sandbox, "incident_report": incident_report,
              "agent_offline_then_back": agent_offline_then_back, "step_flow": step_flow,
              "parallel_fail_fast": parallel_fail_fast, "rate_control": rate_control,
              "fast_green_steps": fast_green_steps, "verify_steps": verify_steps, "connection_sync": connection_sync}
TIME_SKIPPING = {"escalation_timers": escalation_timers, "escalation_answered": escalation_answered}


async def _record(env: WorkflowEnvironment, scenarios: dict, wanted: set[str], tmp: Path, store: Store) -> None:
    queue = f"history-{uuid.uuid4().hex[:6]}"
    settings = Settings(task_queue=queue, data_dir=tmp / "data")
    with ThreadPoolExecutor(32) as pool:
        async with build_worker(env.client, settings, store, pool):
            for name, scenario in scenarios.items():
                if wanted and name not in wanted:
                    continue
                args = (env,) if scenario in (escalation_answered,) else ()
                handle = await scenario(env.client, queue, tmp, *args)
                history = await handle.fetch_history()
                (OUT / f"{name}.json").write_text(history.to_json())
                print(f"recorded {name}: {len(history.events)} events")


async def main(wanted: set[str]) -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        engine = make_engine(f"sqlite:///{tmp / 'app.db'}")
        create_schema(engine)
        store = Store(engine)
        dev = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(), search_attributes=sa.ALL,
            data_converter=pydantic_data_converter, dev_server_log_level="error")
        try:
            await _record(dev, DEV_SERVER, wanted, tmp, store)
        finally:
            await dev.shutdown()
        skipping = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
            data_converter=pydantic_data_converter)
        try:
            await _record(skipping, TIME_SKIPPING, wanted, tmp, store)
        finally:
            await skipping.shutdown()
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(set(sys.argv[1:])))
