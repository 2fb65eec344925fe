"""Which agents exist and when each last asked for work: read from Temporal, never from the agents.

Agents have no database, so their liveness is what Temporal knows of task queue `agent-<name>`:
its pollers and when each last polled. The names are those the current runbooks' targets use
(`Target: agent:dmz`) and those the AGENTS setting lists (an agent no runbook uses yet).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.service import RPCError

from runbooks.contract import Activity, AgentOutput
from runbooks.targets import AgentTarget, TargetError, agent_queue, parse_target
from services.context import Services

# A polling agent asks again at least every minute (long polls end after ~60 s).
ONLINE_WITHIN = timedelta(seconds=90)


class AgentPoller(BaseModel):
    identity: str
    last_poll: datetime | None


class AgentStatus(BaseModel):
    name: str
    task_queue: str
    online: bool
    last_poll: datetime | None
    pollers: list[AgentPoller]
    runbooks: list[str]  # ids of the current runbooks with a step for this agent
    error: str | None = None  # Temporal could not be asked


def agent_names(svc: Services) -> dict[str, list[str]]:
    """Agent name -> ids of the runbooks whose steps (or rollbacks) go to it, plus the AGENTS setting's."""
    names: dict[str, list[str]] = {n.strip(): [] for n in svc.settings.agents.split(",") if n.strip()}
    for runbook, _version in svc.catalog.runbooks.values():
        for step in runbook.steps:
            try:
                target = parse_target(step.target)
            except TargetError:  # a target filled from the alert (`agent:{{ labels.zone }}`) names no one yet
                continue
            if isinstance(target, AgentTarget):
                users = names.setdefault(target.name, [])
                if runbook.id not in users:
                    users.append(runbook.id)
    return dict(sorted(names.items()))


async def list_agents(svc: Services) -> list[AgentStatus]:
    found = agent_names(svc)
    return list(await asyncio.gather(*(_status(svc, name, users) for name, users in found.items())))


async def _status(svc: Services, name: str, runbooks: list[str]) -> AgentStatus:
    queue = agent_queue(name)
    request = DescribeTaskQueueRequest(
        namespace=svc.settings.temporal_namespace, task_queue=TaskQueue(name=queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    try:
        described = await svc.client.workflow_service.describe_task_queue(request, timeout=timedelta(seconds=5))
    except RPCError as exc:
        return AgentStatus(name=name, task_queue=queue, online=False, last_poll=None, pollers=[], runbooks=runbooks,
                           error=f"Temporal did not answer: {exc.message}")
    pollers = [AgentPoller(identity=p.identity,
                           last_poll=p.last_access_time.ToDatetime(timezone.utc) if p.HasField("last_access_time") else None)
               for p in described.pollers]
    last = max((p.last_poll for p in pollers if p.last_poll), default=None)
    online = last is not None and datetime.now(timezone.utc) - last <= ONLINE_WITHIN
    return AgentStatus(name=name, task_queue=queue, online=online, last_poll=last, pollers=pollers, runbooks=runbooks)


async def agent_outputs(svc: Services, execution_id: str) -> dict[str, str]:
    """The output so far of each of the execution's steps running on an agent, by step id.

    An agent has no database: its step heartbeats its output (masked, the tail), and Temporal keeps
    the newest heartbeat of each running activity. Nothing is returned when Temporal cannot say.
    """
    try:
        described = await svc.client.get_workflow_handle(execution_id).describe()
    except RPCError:
        return {}
    found: dict[str, str] = {}
    for pending in described.raw_description.pending_activities:
        payloads = list(pending.heartbeat_details.payloads)
        if pending.activity_type.name != Activity.RUN_COMMAND or not payloads:
            continue
        try:
            beat = (await svc.client.data_converter.decode(payloads[:1], [AgentOutput]))[0]
        except Exception:  # noqa: BLE001  (another worker's heartbeat shape: not ours to show)
            continue
        if isinstance(beat, AgentOutput) and beat.output:
            found[beat.step_id] = beat.output
    return found


def on_agent(target: str | None, status: str) -> bool:
    """A step whose output so far lives in its heartbeats, not in the database."""
    return status == "running" and (target or "").startswith("agent:")


async def running_agent_outputs(svc: Services, execution_id: str,
                                steps: Iterable[tuple[str, str | None, str]]) -> dict[str, str]:
    """The output so far of those of `steps` (step id, target, status) that run on an agent now;
    Temporal is asked only when there is one."""
    wanted = {step_id for step_id, target, status in steps if on_agent(target, status)}
    if not wanted:
        return {}
    return {k: v for k, v in (await agent_outputs(svc, execution_id)).items() if k in wanted}
