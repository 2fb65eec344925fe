"""The matching catalogue: the latest version of every runbook, indexed, with a cache for storms.

One per process, built at start and refreshed after every import, so every door that matches an
alert (the webhooks, `POST /api/v1/match`) sees the same runbooks and the same answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from runbooks.matching.index import RunbookIndex
from runbooks.matching.results import MatchOutcome
from runbooks.model import Runbook
from runbooks.storage.store import Store
from runbooks.telemetry.metrics import MATCH_SECONDS, MATCHES

CACHE_SIZE = 10_000


@dataclass
class Catalog:
    store: Store
    index: RunbookIndex
    runbooks: dict[str, tuple[Runbook, int]] = field(default_factory=dict)
    _cache: OrderedDict[tuple, MatchOutcome] = field(default_factory=OrderedDict)  # a storm repeats itself

    async def refresh(self) -> None:
        latest = await asyncio.to_thread(self.store.live_runbooks)
        await asyncio.to_thread(self.index.rebuild, latest)
        self.runbooks = {rb.id: (rb, version) for rb, version in latest}
        self._cache.clear()

    def outcome(self, labels: dict[str, str], annotations: dict[str, str] | None = None) -> MatchOutcome:
        """Which runbook answers these labels (or none), with the score, the reason and the candidates."""
        key = (tuple(sorted(labels.items())), tuple(sorted((annotations or {}).items())))
        found = self._cache.get(key)
        if found is None:
            began = time.perf_counter()
            found = self._cache[key] = self.index.match(labels, annotations)
            MATCH_SECONDS.observe(time.perf_counter() - began)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        MATCHES.labels(result="runbook" if found.runbook_id else "none").inc()
        return found

    def match(self, labels: dict[str, str], annotations: dict[str, str] | None = None) -> tuple[Runbook, int] | None:
        found = self.outcome(labels, annotations)
        return self.runbooks.get(found.runbook_id) if found.runbook_id else None
