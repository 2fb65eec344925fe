"""The matching catalogue: the latest version of every runbook, indexed, with a cache for storms,
and the runbooks people chose by hand for alert names (pairings), which win over the index.

One per process, built at start and refreshed after every import, so every door that matches an
alert (the webhooks, `POST /api/v1/match`) sees the same runbooks and the same answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from runbooks.matching.index import RunbookIndex
from runbooks.matching.results import Candidate, MatchOutcome
from runbooks.matching.text import rule_expression
from runbooks.model import Runbook
from runbooks.storage.store import Store
from runbooks.storage.tables import PairingRow
from runbooks.telemetry.metrics import MATCH_SECONDS, MATCHES

CACHE_SIZE = 10_000
PAIRINGS_TTL = 10.0  # seconds: how soon a pairing made through another replica is seen here


@dataclass
class Catalog:
    store: Store
    index: RunbookIndex
    runbooks: dict[str, tuple[Runbook, int]] = field(default_factory=dict)
    pairings: dict[str, PairingRow] = field(default_factory=dict)  # alert name -> the runbook people chose
    _cache: OrderedDict[tuple, MatchOutcome] = field(default_factory=OrderedDict)  # a storm repeats itself
    _pairings_read: float = 0.0

    async def refresh(self) -> None:
        latest = await asyncio.to_thread(self.store.live_runbooks)
        await asyncio.to_thread(self.index.rebuild, latest)
        self.runbooks = {rb.id: (rb, version) for rb, version in latest}
        await self.reload_pairings()

    async def reload_pairings(self) -> None:
        self.pairings = {p.alertname: p for p in await asyncio.to_thread(self.store.pairings)}
        self._pairings_read = time.monotonic()
        self._cache.clear()

    async def current_pairings(self) -> None:
        """Another API replica may have recorded or forgotten a pairing: read them again every few seconds."""
        if time.monotonic() - self._pairings_read > PAIRINGS_TTL:
            await self.reload_pairings()

    def _paired(self, labels: dict[str, str]) -> MatchOutcome | None:
        """A person chose a runbook for this alert name: their choice wins over what the text says."""
        pairing = self.pairings.get(labels.get("alertname", ""))
        if pairing is None or pairing.runbook_id not in self.runbooks:
            return None
        rb, version = self.runbooks[pairing.runbook_id]
        when = f" on {pairing.chosen_at:%Y-%m-%d}" if pairing.chosen_at else ""
        reason = (f"{pairing.chosen_by} chose this runbook for {pairing.alertname}{when} (started it by hand for "
                  f"such an alert; a pairing, listed at /api/v1/pairings)")
        return MatchOutcome(runbook_id=rb.id, version=version, score=1.0, reason=reason,
                            candidates=[Candidate(runbook_id=rb.id, score=1.0, reason=reason,
                                                  source_path=rb.source_path)])

    def outcome(self, labels: dict[str, str], annotations: dict[str, str] | None = None,
                observed: bool = True, generator_url: str | None = None) -> MatchOutcome:
        """Which runbook answers these labels (or none), with the score, the reason and the candidates.

        `generator_url`: the rule's page, whose PromQL is a signal too. `observed=False` (a fire
        drill's synthetic alert) leaves the match metrics alone."""
        expression = rule_expression(generator_url)
        key = (tuple(sorted(labels.items())), tuple(sorted((annotations or {}).items())), expression)
        found = self._cache.get(key)
        if found is None:
            began = time.perf_counter()
            found = self._cache[key] = self._paired(labels) or self.index.match(labels, annotations, expression)
            if observed:
                MATCH_SECONDS.observe(time.perf_counter() - began)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        if observed:
            MATCHES.labels(result="runbook" if found.runbook_id else "ask" if found.ask else "none").inc()
        return found

    def match(self, labels: dict[str, str], annotations: dict[str, str] | None = None,
              generator_url: str | None = None) -> tuple[Runbook, int] | None:
        found = self.outcome(labels, annotations, generator_url=generator_url)
        return self.runbooks.get(found.runbook_id) if found.runbook_id else None
