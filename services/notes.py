"""Notes people add to an execution (the cockpit, REST): part of its timeline and its report; a note
that says "I also ran `cmd`" keeps the command, which suggestions read (runbooks/suggestions.py)."""

from __future__ import annotations

import asyncio

from runbooks.access import Permission, Principal
from runbooks.notes import ran_by_hand
from runbooks.storage.tables import NoteRow, utcnow
from services.cockpit import pinned
from services.context import Services
from services.errors import Forbidden, Invalid, NotFound

MAX_NOTE = 4000


async def add_note(svc: Services, who: Principal, execution_id: str, text: str) -> NoteRow:
    """A note by `who`, who may act on the execution's runbook (responder and up, in its team)."""
    text = text.strip()
    if not text:
        raise Invalid("write something: an observation, or what you ran (I also ran `command`)")
    if len(text) > MAX_NOTE:
        raise Invalid(f"a note is at most {MAX_NOTE} characters")
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r}")
    runbook, _ = await asyncio.to_thread(pinned, svc, found[0].runbook_id, found[0].runbook_version)
    team = runbook.owning_team if runbook else None
    if (refused := who.refusal(Permission.decide, team, "add notes to executions")) is not None:
        raise Forbidden(refused)
    row = await asyncio.to_thread(svc.store.add_note, NoteRow(execution_id=execution_id, author=who.name, text=text,
                                                              command=ran_by_hand(text), at=utcnow()))
    await svc.audit(who.name, "note.add", f"execution:{execution_id}", ran=row.command, via=who.via)
    return row


async def notes(svc: Services, execution_id: str) -> list[NoteRow]:
    if await asyncio.to_thread(svc.store.execution_status, execution_id) is None:
        raise NotFound(f"no execution {execution_id!r}")
    return await asyncio.to_thread(svc.store.notes_of, [execution_id])
