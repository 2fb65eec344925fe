"""What route handlers need, taken from the application state set up at start."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi import Request
from temporalio.client import Client

from api.launcher import Launcher
from api.metrics import MATCH_SECONDS, MATCHES
from runbooks.model import Runbook
from runbooks.search import MatchOutcome, RunbookIndex
from runbooks.settings import Settings
from runbooks.store import Store


@dataclass
class Catalog:
    """The latest version of every runbook, indexed for matching; refreshed after every import."""

    store: Store
    index: RunbookIndex
    runbooks: dict[str, tuple[Runbook, int]] = field(default_factory=dict)
    _cache: OrderedDict[tuple, MatchOutcome] = field(default_factory=OrderedDict)  # a storm repeats itself

    async def refresh(self) -> None:
        latest = await asyncio.to_thread(self.store.latest_runbooks)
        await asyncio.to_thread(self.index.rebuild, latest)
        self.runbooks = {rb.id: (rb, version) for rb, version in latest}
        self._cache.clear()

    def outcome(self, labels: dict[str, str], annotations: dict[str, str] | None = None) -> MatchOutcome:
        key = (tuple(sorted(labels.items())), tuple(sorted((annotations or {}).items())))
        found = self._cache.get(key)
        if found is None:
            began = time.perf_counter()
            found = self._cache[key] = self.index.match(labels, annotations)
            MATCH_SECONDS.observe(time.perf_counter() - began)
            if len(self._cache) > 10_000:
                self._cache.popitem(last=False)
        MATCHES.labels(result="runbook" if found.runbook_id else "none").inc()
        return found

    def match(self, labels: dict[str, str], annotations: dict[str, str] | None = None) -> tuple[Runbook, int] | None:
        found = self.outcome(labels, annotations)
        return self.runbooks.get(found.runbook_id) if found.runbook_id else None


class KnownExecutions:
    """Execution ids this process has seen started (bounded LRU): a storm's repeats skip the insert."""

    def __init__(self, size: int = 50_000):
        self.size = size
        self._ids: OrderedDict[str, str] = OrderedDict()

    def get(self, execution_id: str) -> str | None:
        runbook_id = self._ids.get(execution_id)
        if runbook_id is not None:
            self._ids.move_to_end(execution_id)
        return runbook_id

    def add(self, execution_id: str, runbook_id: str) -> None:
        self._ids[execution_id] = runbook_id
        self._ids.move_to_end(execution_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)


@dataclass
class Services:
    settings: Settings
    store: Store
    client: Client
    catalog: Catalog
    launcher: Launcher
    known: KnownExecutions = field(default_factory=KnownExecutions)


def services(request: Request) -> Services:
    return request.app.state.services
