"""New runbook versions through a door (paste, upload, revert) and their review.

A version goes live at once only when it cannot make anything more dangerous (runbooks/review.py);
otherwise it waits for an author or admin other than the one who made it, and executions keep
using the live version. The author is the authenticated principal; editing and reviewing are
scoped to the runbook's team (the old one and the new one, when a change moves it). Imports and
reviews are in the audit trail; the matching catalogue is refreshed when the live set changed.
"""

from __future__ import annotations

import asyncio

from runbooks.access import Permission, Principal
from runbooks.authoring.importer import ImportResult, import_text
from runbooks.errors import RunbookParseError
from runbooks.model import Runbook
from runbooks.review import review_reasons
from runbooks.storage.tables import RunbookVersionRow
from services.context import Services
from services.errors import Conflict, Forbidden, Invalid, NotFound


def _may_edit(svc: Services, who: Principal, new: Runbook) -> list[str]:
    """Refuse an edit outside the principal's teams; else why the new version needs review."""
    live = svc.store.live_runbook(new.id)
    for team in {new.owning_team, live[0].owning_team if live else new.owning_team}:
        if (refused := who.refusal(Permission.edit, team, "import or edit runbooks")) is not None:
            raise Forbidden(refused)
    return review_reasons(live[0] if live else None, new)


async def _stored(svc: Services, who: Principal, result: ImportResult, action: str, **detail: object) -> ImportResult:
    if result.created:
        await svc.audit(who.name, action, f"runbook:{result.id}", version=result.version, state=result.state,
                        reasons=result.review_reasons, via=who.via, **detail)
        if result.state == "live":
            await svc.catalog.refresh()
    return result


async def add_text(svc: Services, who: Principal, text: str, *, path: str | None, default_id: str | None,
                   kind: str) -> ImportResult:
    """Store `text` as a new version (or find it unchanged); Invalid with the line that is wrong."""
    if (refused := who.refusal(Permission.edit, None, "import or edit runbooks")) is not None:
        raise Forbidden(refused)  # before parsing: the role alone decides, whatever the text says
    try:
        result = await asyncio.to_thread(import_text, svc.store, text, path=path, default_id=default_id,
                                         author=who.name, source_kind=kind, llm=svc.settings.llm,
                                         gate=lambda rb: _may_edit(svc, who, rb))
    except RunbookParseError as exc:
        raise Invalid(exc.message, detail={"message": exc.message, "line": exc.line, "path": exc.path}) from None
    return await _stored(svc, who, result, "runbook.import", kind=kind)


async def revert_to(svc: Services, who: Principal, runbook_id: str, version: int) -> ImportResult:
    """Make an old version current again, as a new version (history is never rewritten): reviewed
    like any other change."""
    old = await asyncio.to_thread(svc.store.version_row, runbook_id, version)
    if old is None:
        raise NotFound(f"no runbook {runbook_id!r} version {version}")
    rb = Runbook.model_validate(old.model)
    reasons = await asyncio.to_thread(_may_edit, svc, who, rb)
    new_version, created = await asyncio.to_thread(svc.store.save_runbook, rb, old.source, who.name, "revert",
                                                   None, reasons)
    row, stored = await asyncio.to_thread(lambda: (svc.store.runbook_row(runbook_id),
                                                   svc.store.version_row(runbook_id, new_version)))
    result = ImportResult.of(rb, new_version, created, stored.state, stored.review_reasons, row.live_version)
    return await _stored(svc, who, result, "runbook.revert", reverted_to=version)


async def review(svc: Services, who: Principal, runbook_id: str, version: int, *, approve: bool,
                 comment: str) -> RunbookVersionRow:
    """An author or admin other than the version's author takes it live or rejects it; an admin may
    confirm their own change only where ALLOW_SELF_REVIEW is on (recorded as self-reviewed)."""
    row = await asyncio.to_thread(svc.store.version_row, runbook_id, version)
    if row is None:
        raise NotFound(f"no runbook {runbook_id!r} version {version}")
    rb = Runbook.model_validate(row.model)
    live = await asyncio.to_thread(svc.store.live_runbook, runbook_id)
    for team in {rb.owning_team, live[0].owning_team if live else rb.owning_team}:
        if (refused := who.refusal(Permission.review, team, "review runbook changes")) is not None:
            raise Forbidden(refused)
    self_review = row.author == who.name
    if self_review and not (who.is_admin and svc.settings.allow_self_review):
        raise Forbidden(f"{who.name} made version {version} of {runbook_id} and cannot also review it: another "
                        "author or admin must" + ("" if not who.is_admin else
                                                  " (ALLOW_SELF_REVIEW lets an admin confirm their own change)"))
    done = await asyncio.to_thread(svc.store.review_version, runbook_id, version, approve=approve,
                                   reviewer=who.name, comment=comment)
    if isinstance(done, str):
        raise Conflict(done)
    await svc.audit(who.name, "runbook.review", f"runbook:{runbook_id}", version=version, approved=approve,
                    comment=comment, self_review=self_review, author=row.author, via=who.via)
    if approve:
        await svc.catalog.refresh()
    return done
