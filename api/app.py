"""The FastAPI application: alert webhooks, the REST API, health."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from temporalio.client import Client

from api import metrics
from api.deps import Catalog, Services
from api.launcher import Launcher
from api.routes import alerts, executions, health, match, runbooks, slack
from runbooks.db import create_schema, make_engine
from runbooks.importer import import_directory
from runbooks.search import RunbookIndex
from runbooks.settings import Settings, get_settings
from runbooks.store import Store
from workflows.client import connect

log = logging.getLogger("runbooks.api")


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        await asyncio.to_thread(create_schema, engine)
        store = Store(engine)
        report = await asyncio.to_thread(import_directory, store, settings.runbooks_dir)
        for error in report.failures:
            log.error("runbook rejected: %s", error)
        log.info("loaded %d runbooks from %s (%d new versions)", len(report.results), settings.runbooks_dir,
                 len(report.new_versions))
        temporal = client or await connect(settings)
        catalog = Catalog(store, RunbookIndex(settings.data_dir / "index"))
        await catalog.refresh()
        app.state.services = Services(settings=settings, store=store, client=temporal, catalog=catalog,
                                      launcher=Launcher(temporal, store, settings))
        yield
        engine.dispose()

    app = FastAPI(
        title="Living Runbooks",
        version="0.1.0",
        description="Alerts start durable runbook executions: safe steps run, risky steps wait for approval, "
                    "failures roll back.",
        lifespan=lifespan,
    )
    for module in (health, metrics, alerts, match, runbooks, executions, slack):
        app.include_router(module.router)
    return app
