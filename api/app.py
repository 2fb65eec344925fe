"""The FastAPI application: alert webhooks, the REST API, Slack's endpoints, health and metrics.

Routes parse the request, call a service and shape the answer; every refusal (a service's
`ServiceError`, a bad request, the database away) is answered as problem details (api/problems.py),
and bodies are bounded before they are read (api/limits.py).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from temporalio.client import Client

from api import problems
from api.limits import BodyLimit
from api.routes import alerts, codec, executions, health, match, metrics, runbooks, slack
from runbooks.settings import Settings, get_settings
from services.context import open_services


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await open_services(settings, client)
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
    for module in (health, metrics, alerts, match, runbooks, executions, slack, codec):
        app.include_router(module.router)
    app.add_middleware(BodyLimit)
    return app
