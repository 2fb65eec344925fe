"""New runbook versions through a door (paste, upload, revert): parsed, stored as an immutable
version, and the matching catalogue refreshed when a new version was stored."""

from __future__ import annotations

import asyncio

from runbooks.authoring.importer import ImportResult, import_text
from runbooks.authoring.lint import lint
from runbooks.errors import RunbookParseError
from runbooks.model import Runbook
from services.context import Services
from services.errors import Invalid, NotFound


async def add_text(svc: Services, text: str, *, path: str | None, default_id: str | None, author: str,
                         kind: str) -> ImportResult:
    """Store `text` as a new version (or find it unchanged); Invalid with the line that is wrong."""
    try:
        result = await asyncio.to_thread(import_text, svc.store, text, path=path, default_id=default_id,
                                         author=author, source_kind=kind, llm=svc.settings.llm)
    except RunbookParseError as exc:
        raise Invalid(exc.message, detail={"message": exc.message, "line": exc.line, "path": exc.path}) from None
    if result.created:
        await svc.catalog.refresh()
    return result


async def revert_to(svc: Services, runbook_id: str, version: int, author: str) -> ImportResult:
    """Make an old version current again, as a new version (history is never rewritten)."""
    old = await asyncio.to_thread(svc.store.version_row, runbook_id, version)
    if old is None:
        raise NotFound(f"no runbook {runbook_id!r} version {version}")
    rb = Runbook.model_validate(old.model)
    new_version, created = await asyncio.to_thread(svc.store.save_runbook, rb, old.source, author, "revert")
    if created:
        await svc.catalog.refresh()
    return ImportResult(id=rb.id, version=new_version, created=created, title=rb.title, format=rb.format,
                        steps=len(rb.steps), commands=sum(1 for s in rb.steps if s.command),
                        source_path=rb.source_path, quality=lint(rb))
