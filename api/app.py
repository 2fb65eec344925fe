"""The FastAPI application: alert webhooks, the REST API, Slack's endpoints, health and metrics.

Routes parse the request, call a service and shape the answer; a service's refusal
(`services.errors.ServiceError`) becomes its status with `{"detail": ...}` here, in one place.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import Client

from api.routes import alerts, codec, executions, health, match, metrics, runbooks, slack
from runbooks.settings import Settings, get_settings
from services.context import open_services
from services.errors import ServiceError


async def refused(_request: Request, exc: ServiceError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


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
    app.add_exception_handler(ServiceError, refused)  # type: ignore[arg-type]
    for module in (health, metrics, alerts, match, runbooks, executions, slack, codec):
        app.include_router(module.router)
    return app
