"""Following, steering and stopping a running execution: its live progress (a Temporal query),
breakpoints and resuming from them (workflow updates the execution validates), and cancel."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from runbooks.access import DEFAULT_TEAM, Permission, Principal
from runbooks.contract import BreakpointRequest, ExecutionState, ExecutionStatus, Query, ResumeRequest, Update
from runbooks.model import Runbook
from services.context import Services
from services.errors import Conflict, Forbidden, NotFound, Unavailable

QUERY_TIMEOUT = timedelta(seconds=5)


async def _running(svc: Services, execution_id: str) -> None:
    status = await asyncio.to_thread(svc.store.execution_status, execution_id)
    if status is None:
        raise NotFound(f"no execution {execution_id!r}")
    if ExecutionStatus(status).terminal:
        raise Conflict(f"execution {execution_id} has already ended ({status})")


async def current_progress(svc: Services, execution_id: str) -> ExecutionState:
    """What the workflow itself says right now, for a running execution."""
    await _running(svc, execution_id)
    try:
        return await svc.client.get_workflow_handle(execution_id).query(
            Query.PROGRESS, result_type=ExecutionState, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:  # also: no worker answered in time (a query needs one to run the workflow code)
        raise Unavailable(f"cannot query the execution in Temporal (is a worker running?): {exc.message}") from None


async def _team_allows(svc: Services, who: Principal, execution_id: str, permission: Permission, what: str) -> str:
    """The execution's runbook id, once `who` may do `what` to it (its runbook's team); raises otherwise."""
    await _running(svc, execution_id)
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    assert found is not None
    execution = found[0]
    version = await asyncio.to_thread(svc.store.version_row, execution.runbook_id, execution.runbook_version)
    team = Runbook.model_validate(version.model).owning_team if version else DEFAULT_TEAM
    if (refused := who.refusal(permission, team, what)) is not None:
        raise Forbidden(refused)
    return execution.runbook_id


async def _update(svc: Services, execution_id: str, name: str, request: object) -> str:
    """Send a workflow update; the execution's own refusal (not paused, already started...) is a 409."""
    try:
        return await svc.client.get_workflow_handle(execution_id).execute_update(
            name, request, result_type=str, rpc_timeout=timedelta(seconds=10))
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise Conflict(getattr(cause, "message", None) or str(cause)) from None
    except RPCError as exc:
        raise Unavailable(f"cannot reach the execution in Temporal (is a worker running?): {exc.message}") from None


async def set_breakpoint(svc: Services, who: Principal, execution_id: str, step_id: str, clear: bool = False) -> str:
    """Pause the execution before a step that has not started (in any mode), or take that pause away."""
    runbook_id = await _team_allows(svc, who, execution_id, Permission.decide, "set breakpoints")
    done = await _update(svc, execution_id, Update.BREAKPOINT,
                         BreakpointRequest(step_id=step_id, actor=who.name, clear=clear))
    await svc.audit(who.name, "execution.breakpoint", f"execution:{execution_id}", runbook=runbook_id, step=step_id,
                    result=done, via=who.via)
    return done


async def resume(svc: Services, who: Principal, execution_id: str, step_id: str, step_over: bool = False) -> str:
    """Go on from a breakpoint: run the step (a risky one still waits for its approval), or step over it."""
    runbook_id = await _team_allows(svc, who, execution_id, Permission.decide, "resume executions")
    done = await _update(svc, execution_id, Update.RESUME, ResumeRequest(step_id=step_id, actor=who.name,
                                                                         step_over=step_over))
    await svc.audit(who.name, "execution.resume", f"execution:{execution_id}", runbook=runbook_id, step=step_id,
                    result=done, via=who.via)
    return done


async def cancel(svc: Services, who: Principal, execution_id: str) -> None:
    """Ask a running execution to stop; the steps it completed are rolled back, newest first."""
    runbook_id = await _team_allows(svc, who, execution_id, Permission.cancel, "cancel executions")
    try:
        await svc.client.get_workflow_handle(execution_id).cancel()
    except RPCError as exc:
        raise Unavailable(f"cannot reach the execution in Temporal: {exc.message}") from None
    await svc.audit(who.name, "execution.cancel", f"execution:{execution_id}", runbook=runbook_id, via=who.via)
