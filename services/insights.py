"""Insights per runbook: what its executions say (runbooks/insights.py), read from the database.

Gathering the facts is a handful of aggregate queries over every run of the runbook (about 130 ms
for 10,000 runs); pages and reports ask for them often while the runs rarely change. So the facts
are kept per database and runbook with a stamp (how many runs, the latest write about one, the
latest alert received) that one cheap query reads again: an unchanged stamp reuses them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from weakref import WeakKeyDictionary

from runbooks.insights import InsightFacts, RunbookInsights, insights
from runbooks.storage.store import Store
from runbooks.storage.tables import utcnow
from services.context import Services
from services.errors import NotFound

_FACTS: WeakKeyDictionary[Store, dict[str, tuple[tuple, InsightFacts]]] = WeakKeyDictionary()
MAX_KEPT = 1000  # runbooks per database


def _facts(store: Store, runbook_id: str) -> InsightFacts | None:
    if store.runbook_row(runbook_id) is None:
        return None
    stamp = store.insight_stamp(runbook_id)
    kept = _FACTS.setdefault(store, {})
    found = kept.get(runbook_id)
    if found is not None and found[0] == stamp:
        return found[1]
    facts = store.insight_facts(runbook_id)
    if len(kept) >= MAX_KEPT:
        kept.clear()
    kept[runbook_id] = (stamp, facts)
    return facts


async def runbook_insights(svc: Services, runbook_id: str, now: datetime | None = None) -> RunbookInsights:
    """`now` is when staleness is judged: today, or a past moment (an incident report judges the
    runbook as of the execution it reports, so the report reads the same tomorrow)."""
    facts = await asyncio.to_thread(_facts, svc.store, runbook_id)
    if facts is None:
        raise NotFound(f"no runbook {runbook_id!r}")
    return insights(facts, now or utcnow())
