"""Suggestions as proposed versions (runbooks/suggestions.py): listed with their evidence and diff,
accepted as a new version through the review rule, or dismissed with a reason (not proposed again).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from runbooks.access import Permission, Principal
from runbooks.authoring.importer import ImportResult
from runbooks.authoring.reader import parse_text
from runbooks.earned_trust import Outcome, StepTrust, trust_of, trust_suggestions
from runbooks.narration import Narration, narrate
from runbooks.storage.tables import DismissalRow, utcnow
from runbooks.suggestions import RanByHand, Suggestion, suggest
from services.context import Services
from services.errors import Forbidden, Invalid, NotFound
from services.insights import runbook_insights
from services.starts import live_version
from services.versions import add_text


# (database, suggestion id) -> its phrasing: an id changes with its evidence and the live version
EXPLAINED: OrderedDict[tuple[str, str], Narration] = OrderedDict()
EXPLAIN_TASK = ("Explain this proposed change to a runbook, and why it is proposed, in two or three sentences "
                "for the engineer who decides whether to accept it.")


async def explained(svc: Services, found: list[Suggestion]) -> list[Suggestion]:
    """Each suggestion with an LLM's grounded phrasing of it (runbooks/narration.py), kept per id."""
    out, database = [], str(svc.store.engine.url)
    for s in found:
        narration = EXPLAINED.get((database, s.id))
        if narration is None:
            narration = await asyncio.to_thread(narrate, EXPLAIN_TASK, s.facts(), svc.settings.llm)
            if narration.used_llm:  # a failure is asked again next time
                EXPLAINED[(database, s.id)] = narration
                while len(EXPLAINED) > 1000:
                    EXPLAINED.popitem(last=False)
        out.append(s.model_copy(update={"explanation": narration}))
    return out


async def suggestions(svc: Services, runbook_id: str, explain: bool = False,
                      history: dict[str, list[Outcome]] | None = None) -> list[Suggestion]:
    """What the live version's runs propose, dismissed ones aside; `explain`: phrased by the LLM too.
    `history`: the steps' outcomes when the caller read them already (step_trust wants them too)."""
    runbook, version = await live_version(svc, runbook_id)
    row = await asyncio.to_thread(svc.store.version_row, runbook_id, version)
    assert row is not None
    learned = await runbook_insights(svc, runbook_id)
    broken = [f.step_id for f in learned.flags if f.kind == "broken_step" and f.step_id]
    supplied, dismissed, noted, failed_in = await asyncio.to_thread(
        lambda: (svc.store.supplied_values(runbook_id), svc.store.dismissed(runbook_id),
                 svc.store.commands_run_by_hand(runbook_id), svc.store.failed_runs(runbook_id, broken)))
    ran = [RanByHand(n.execution_id, n.author, n.command, n.text) for n in noted if n.command]
    found = await asyncio.to_thread(suggest, runbook, version, row.source, learned, supplied,
                                    lambda text: parse_text(text, runbook.source_path, runbook.id), ran, failed_in)
    if history is None:
        history = await asyncio.to_thread(svc.store.step_history, runbook_id)
    found += trust_suggestions(runbook, version, row.source, history,
                               lambda text: parse_text(text, runbook.source_path, runbook.id))
    found = [s for s in found if s.id not in dismissed]
    return await explained(svc, found) if explain else found


async def step_trust(svc: Services, runbook_id: str,
                     history: dict[str, list[Outcome]] | None = None) -> list[StepTrust]:
    """Each step of the live version: runs by itself or not, its streak of approved successes, its latest runs."""
    runbook, _version = await live_version(svc, runbook_id)
    if history is None:
        history = await asyncio.to_thread(svc.store.step_history, runbook_id)
    return trust_of(runbook, history)


async def _one(svc: Services, runbook_id: str, suggestion_id: str) -> Suggestion:
    found = next((s for s in await suggestions(svc, runbook_id) if s.id == suggestion_id), None)
    if found is None:
        raise NotFound(f"no open suggestion {suggestion_id!r} for {runbook_id!r} (dismissed, accepted, or the live "
                       "version changed since)")
    return found


async def accept(svc: Services, who: Principal, runbook_id: str, suggestion_id: str) -> ImportResult:
    """Save the proposed text as a new version, by `who`: live at once or waiting for review, by the
    same rule as any edit."""
    found = await _one(svc, runbook_id, suggestion_id)
    result = await add_text(svc, who, found.text, path=None, default_id=runbook_id, kind="suggestion")
    await svc.audit(who.name, "suggestion.accept", f"runbook:{runbook_id}", suggestion=suggestion_id,
                    kind=found.kind, step=found.step_id, version=result.version, via=who.via)
    return result


async def dismiss(svc: Services, who: Principal, runbook_id: str, suggestion_id: str, reason: str) -> Suggestion:
    if not reason.strip():
        raise Invalid("say why: the reason is kept with the dismissal")
    found = await _one(svc, runbook_id, suggestion_id)
    team = (await live_version(svc, runbook_id))[0].owning_team
    if (refused := who.refusal(Permission.edit, team, "dismiss suggestions")) is not None:
        raise Forbidden(refused)
    await asyncio.to_thread(svc.store.dismiss, DismissalRow(suggestion_id=suggestion_id, runbook_id=runbook_id,
                                                            dismissed_by=who.name, reason=reason.strip(),
                                                            at=utcnow()))
    await svc.audit(who.name, "suggestion.dismiss", f"runbook:{runbook_id}", suggestion=suggestion_id,
                    kind=found.kind, reason=reason.strip(), via=who.via)
    return found
