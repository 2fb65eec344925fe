"""Starting a runbook by hand, the same way from every door (REST, Slack, web pages).

The live version runs (a change waiting for review does not); the starter needs `start` in the
runbook's team, and `start_autopilot` for autopilot, which runs yellow steps without asking and so
is itself an approval. The start is in the audit trail.
"""

from __future__ import annotations

import asyncio

from runbooks.access import Permission, Principal
from runbooks.alert import Alert
from runbooks.model import Mode, Runbook
from services.context import Services
from services.errors import Conflict, Forbidden, NotFound
from services.launch import ExecutionRef


async def live_version(svc: Services, runbook_id: str) -> tuple[Runbook, int]:
    """The version an execution of this runbook runs; NotFound, or Conflict while none is live yet."""
    row = await asyncio.to_thread(svc.store.runbook_row, runbook_id)
    if row is None:
        raise NotFound(f"no runbook {runbook_id!r}")
    found = await asyncio.to_thread(svc.store.live_runbook, runbook_id)
    if found is None:
        raise Conflict(f"runbook {runbook_id!r} has no live version yet: version {row.latest_version} waits for "
                       f"review (POST /api/v1/runbooks/{runbook_id}/versions/{row.latest_version}/review)")
    return found


async def start_by_hand(svc: Services, who: Principal, runbook_id: str, mode: Mode,
                        params: dict[str, str] | None = None,
                        alert: Alert | None = None) -> tuple[ExecutionRef, Runbook, int]:
    """`alert`: a received alert this start answers (its labels fill the steps, as if it had matched)."""
    runbook, version = await live_version(svc, runbook_id)
    permission = Permission.start_autopilot if mode is Mode.autopilot else Permission.start
    what = ("start in autopilot (it runs yellow steps without asking)" if mode is Mode.autopilot
            else "start runbooks")
    if (refused := who.refusal(permission, runbook.owning_team, what)) is not None:
        raise Forbidden(refused)
    ref = await svc.launcher.start(runbook, version, mode, alert=alert, params=params or {}, started_by=who.name)
    await svc.audit(who.name, "execution.start", f"execution:{ref.id}", runbook=runbook.id, version=version,
                    mode=mode.value, params=sorted(params or {}), via=who.via,
                    **({"alert": alert.fingerprint} if alert else {}))
    return ref, runbook, version
