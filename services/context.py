"""What every service call works with, built once per process when a door opens.

`open_services` is the start-up of the API (and of anything else that serves doors): the database
migrated, the shipped runbooks loaded and versioned, Temporal connected, the catalogue indexed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from temporalio.client import Client

from runbooks.authoring.importer import import_directory
from runbooks.matching.index import RunbookIndex
from runbooks.masking import register_secrets
from runbooks.settings import Settings
from runbooks.storage.audit import AuditLog, audit_key
from runbooks.storage.engine import make_engine
from runbooks.storage.identity import IdentityStore
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from services.catalog import Catalog
from services.accounts import ensure_admin
from services.launch import Launcher
from services.live import ChangeFeed
from workflows.client import connect

log = logging.getLogger("runbooks.services")


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
    identity: IdentityStore
    audit_log: AuditLog
    known: KnownExecutions = field(default_factory=KnownExecutions)
    live: ChangeFeed | None = None  # what changed, for live pages (services/live.py)
    engine: Engine | None = None  # disposed by `close`
    admin_token: str | None = field(default=None, repr=False)  # made at this start (the first), shown once

    async def audit(self, actor: str, action: str, target: str = "", **detail: object) -> int:
        """Append a security-relevant act to the audit trail (runbooks/audit.py)."""
        return await asyncio.to_thread(self.audit_log.append, actor, action, target, **detail)

    def close(self) -> None:
        self.catalog.index.close()
        if self.engine is not None:
            self.engine.dispose()


async def open_services(settings: Settings, client: Client | None = None) -> Services:
    register_secrets(settings.secret_values())
    engine = make_engine(settings.resolved_database_url)
    await asyncio.to_thread(create_schema, engine, auto_migrate=settings.auto_migrate)
    store = Store(engine)
    audit_log = AuditLog(engine, await asyncio.to_thread(audit_key, settings))
    report = await asyncio.to_thread(import_directory, store, settings.runbooks_dir, "operator", settings.llm)
    for error in report.failures:
        log.error("runbook rejected: %s", error)
    for result in report.results:
        if result.created:
            await asyncio.to_thread(audit_log.append, "operator", "runbook.deploy", f"runbook:{result.id}",
                                    version=result.version, source=str(settings.runbooks_dir))
    log.info("loaded %d runbooks from %s (%d new versions)", len(report.results), settings.runbooks_dir,
             len(report.new_versions))
    temporal = client or await connect(settings)
    catalog = Catalog(store, RunbookIndex(settings.data_dir / "index"))
    await catalog.refresh()
    svc = Services(settings=settings, store=store, client=temporal, catalog=catalog,
                   launcher=Launcher(temporal, store, settings), identity=IdentityStore(engine), audit_log=audit_log,
                   engine=engine, live=ChangeFeed(store))
    svc.admin_token = await asyncio.to_thread(ensure_admin, svc.identity, audit_log, settings)
    return svc
