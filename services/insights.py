"""Insights per runbook: what its executions say (runbooks/insights.py), read from the database."""

from __future__ import annotations

import asyncio
from datetime import datetime

from runbooks.insights import RunbookInsights, insights
from runbooks.storage.tables import utcnow
from services.context import Services
from services.errors import NotFound


async def runbook_insights(svc: Services, runbook_id: str, now: datetime | None = None) -> RunbookInsights:
    """`now` is when staleness is judged: today, or a past moment (an incident report judges the
    runbook as of the execution it reports, so the report reads the same tomorrow)."""
    if await asyncio.to_thread(svc.store.runbook_row, runbook_id) is None:
        raise NotFound(f"no runbook {runbook_id!r}")
    facts = await asyncio.to_thread(svc.store.insight_facts, runbook_id)
    return insights(facts, now or utcnow())
