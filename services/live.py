"""What changed, as it changes: one poller per process turns `executions.updated_at` into events.

Every write about an execution (the workflow's state, a running step's output, the timeline, a
new execution) moves that column, whichever process made it: a worker, another API replica, this
one. One query every `interval` seconds finds the executions written since the last look and hands
their ids to every subscriber (an open web page), so the cost does not grow with the viewers. The
poller runs only while someone listens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from runbooks.storage.store import Store
from runbooks.storage.tables import utcnow

log = logging.getLogger("runbooks.live")
# Writers stamp updated_at with their own clock before they commit: look back this far, and drop
# what was already seen, so a change committed late (or by a host whose clock trails) is not missed.
OVERLAP = timedelta(seconds=2)


class ChangeFeed:
    def __init__(self, store: Store, interval: float = 0.2):
        self.store = store
        self.interval = interval
        self._subscribers: set[asyncio.Queue[set[str]]] = set()
        self._task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[set[str]]]:
        """A queue of sets of execution ids that changed, for as long as the caller listens."""
        queue: asyncio.Queue[set[str]] = asyncio.Queue()
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="change-feed")
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _poll(self) -> None:
        since = utcnow()
        seen: dict[str, datetime] = {}  # id -> the updated_at already announced
        while self._subscribers:
            await asyncio.sleep(self.interval)
            try:
                rows = await asyncio.to_thread(self.store.changed_since, since - OVERLAP)
            except Exception:  # the database away for a moment: the pages keep what they show
                log.warning("live feed: cannot read changes", exc_info=True)
                continue
            changed = {eid for eid, at in rows if seen.get(eid) != at}
            for eid, at in rows:
                seen[eid] = at
                since = max(since, at)
            horizon = since - OVERLAP
            seen = {eid: at for eid, at in seen.items() if at >= horizon}
            if changed:
                for queue in list(self._subscribers):
                    queue.put_nowait(changed)
