"""The sync_connection activity: what a connection's schedule runs (runbooks/connections/sync.py).

It returns the import report's counts (the report itself is in the database, with every page),
so the workflow's history holds no page text.
"""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from runbooks.storage.audit import AuditLog
from runbooks.connections.sync import sync_connection
from runbooks.contract import Activity
from runbooks.keyring import KeyRingError, key_ring
from runbooks.settings import Settings
from runbooks.storage.connections import ConnectionStore
from runbooks.storage.store import Store


class ConnectionActivities:
    def __init__(self, settings: Settings, store: Store, audit_log: AuditLog | None = None) -> None:
        self.settings, self.store, self.audit_log = settings, store, audit_log

    @activity.defn(name=Activity.SYNC_CONNECTION)
    async def sync_connection(self, connection_id: int) -> dict:
        cstore = ConnectionStore(self.store.engine)
        if await asyncio.to_thread(cstore.get, connection_id) is None:  # removed while its schedule still ran
            return {"connection_id": connection_id, "error": f"no connection {connection_id}"}
        try:
            ring = key_ring(self.settings)
        except KeyRingError as exc:
            raise ApplicationError(str(exc), non_retryable=True) from None
        report = await asyncio.to_thread(sync_connection, self.store, cstore, ring, connection_id,
                                         trigger="schedule", by="schedule",
                                         tokens=self.settings.connection_tokens_by_name, llm=self.settings.llm)
        if self.audit_log is not None and self.audit_log.key is not None:
            await asyncio.to_thread(self.audit_log.append, "schedule", "connection.sync",
                                    f"connection:{connection_id}", trigger="schedule", found=report.found,
                                    imported=report.imported, unchanged=report.unchanged, refused=report.refused,
                                    flagged=report.flagged, error=report.error)
        return report.model_dump(exclude={"pages"})
