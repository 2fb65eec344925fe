"""The FastAPI application: alert webhooks, the REST API, Slack's endpoints, the web cockpit, health and metrics.

Every route declares who may call it (api/auth.py); routes parse the request, call a service and shape the answer; every refusal (a service's
`ServiceError`, a bad request, the database away) is answered as problem details (api/problems.py),
and bodies are bounded before they are read (api/limits.py).
"""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from fastapi import FastAPI
from temporalio.client import Client

from api import problems
from api.auth import check_rules
from api.limits import BodyLimit
from api import web
from api.routes import (
    admin, agents, alerts, codec, connections, drills, executions, health, incidents, match, metrics, runbooks,
    slack,
)
from runbooks.settings import Settings, get_settings
from services.context import Services, open_services


def create_app(settings: Settings | None = None, client: Client | None = None,
               on_start: Callable[[Services], None] | None = None) -> FastAPI:
    """`on_start` sees the services once they are open (the CLI prints a first start's admin token)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await open_services(settings, client)
        if on_start is not None:
            on_start(app.state.services)
        # What start-up built (modules, the index, the model) lives as long as the process: out of the
        # collector's sight, a full collection scans what requests make, not ~200k objects (~150 ms).
        gc.collect()
        gc.freeze()
        yield
        app.state.services.close()

    app = FastAPI(
        title="Living Runbooks",
        version="0.1.0",
        description="Alerts start durable runbook executions: safe steps run, risky steps wait for approval, "
                    "failures roll back.",
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (health, metrics, alerts, match, runbooks, executions, incidents, drills, agents, admin, slack,
                   codec, connections):
        app.include_router(module.router)
    app.include_router(alerts.pairings_router)
    web.install(app)  # the cockpit's pages at / (api/web/)
    check_rules(app)  # every route declares who may call it (api/auth.py)
    app.add_middleware(BodyLimit)
    return app
