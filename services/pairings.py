"""Learning from people's choices: a runbook started by hand for an alert becomes that alert name's
runbook from then on.

When someone starts a runbook for a received alert that matched none (or another one), the alert
name is paired with that runbook, under their name: the next alert of that name matches it, and
the reason says who chose it. Pairings are listed and can be removed; both are in the audit trail.
"""

from __future__ import annotations

import asyncio

from runbooks.access import DEFAULT_TEAM, Permission, Principal
from runbooks.alert import Alert
from runbooks.model import Mode
from runbooks.storage.tables import PairingRow, utcnow
from services.context import Services
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.launch import ExecutionRef
from services.starts import start_by_hand


async def start_for_alert(svc: Services, who: Principal, alert_id: int, runbook_id: str, mode: Mode,
                          params: dict[str, str] | None = None) -> tuple[ExecutionRef, PairingRow | None]:
    """Run `runbook_id` for a received alert as `who`; pair the alert name with it when matching had
    answered nothing or something else."""
    row = await asyncio.to_thread(svc.store.get_alert, alert_id)
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    if row.status != "firing":
        raise Conflict(f"alert {alert_id} is a {row.status} notice: start a runbook for a firing alert")
    if not row.alertname:
        raise Invalid(f"alert {alert_id} has no alertname label: nothing to pair a runbook with")
    alert = Alert(source=row.source, fingerprint=row.fingerprint, status=row.status, labels=row.labels,
                  annotations=row.annotations, starts_at=row.starts_at)
    ref, runbook, _ = await start_by_hand(svc, who, runbook_id, mode, params, alert=alert)
    await asyncio.to_thread(svc.store.attach_alert, alert_id, runbook.id, ref.id)
    if row.runbook_id == runbook.id:
        return ref, None  # matching had chosen the same: nothing to learn
    pairing = PairingRow(alertname=row.alertname, runbook_id=runbook.id, chosen_by=who.name, chosen_at=utcnow(),
                         alert_id=alert_id, replaced=row.runbook_id)
    await asyncio.to_thread(svc.store.set_pairing, pairing)
    await svc.catalog.reload_pairings()
    await svc.audit(who.name, "pairing.add", f"alertname:{row.alertname}", runbook=runbook.id,
                    replaced=row.runbook_id, alert=alert_id, execution=ref.id, via=who.via)
    return ref, pairing


async def remove(svc: Services, who: Principal, alertname: str) -> PairingRow:
    """Forget a pairing: the alert name is matched by the index again. An author of the runbook's team."""
    current = svc.catalog.pairings.get(alertname)
    team = svc.catalog.runbooks[current.runbook_id][0].owning_team if current and current.runbook_id in \
        svc.catalog.runbooks else DEFAULT_TEAM
    if (refused := who.refusal(Permission.edit, team, "remove pairings")) is not None:
        raise Forbidden(refused)
    removed = await asyncio.to_thread(svc.store.remove_pairing, alertname)
    if removed is None:
        raise NotFound(f"no pairing for alert name {alertname!r}")
    await svc.catalog.reload_pairings()
    await svc.audit(who.name, "pairing.remove", f"alertname:{alertname}", runbook=removed.runbook_id, via=who.via)
    return removed
