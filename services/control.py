"""Following and stopping a running execution: its live progress (a Temporal query) and cancel."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.service import RPCError

from runbooks.access import DEFAULT_TEAM, Permission, Principal
from runbooks.contract import ExecutionState, ExecutionStatus, Query
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


async def cancel(svc: Services, who: Principal, execution_id: str) -> None:
    """Ask a running execution to stop; the steps it completed are rolled back, newest first."""
    await _running(svc, execution_id)
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    assert found is not None
    execution = found[0]
    version = await asyncio.to_thread(svc.store.version_row, execution.runbook_id, execution.runbook_version)
    team = Runbook.model_validate(version.model).owning_team if version else DEFAULT_TEAM
    if (refused := who.refusal(Permission.cancel, team, "cancel executions")) is not None:
        raise Forbidden(refused)
    try:
        await svc.client.get_workflow_handle(execution_id).cancel()
    except RPCError as exc:
        raise Unavailable(f"cannot reach the execution in Temporal: {exc.message}") from None
    await svc.audit(who.name, "execution.cancel", f"execution:{execution_id}", runbook=execution.runbook_id,
                    via=who.via)
