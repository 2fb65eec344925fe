"""The web cockpit: server-rendered pages (Jinja2) with htmx and Server-Sent Events, every asset
served from `static/` by the product itself (no CDN, no build step), so it works air-gapped.

Pages share the API process and its services; a refusal on a page is an HTML page (or the form
again with the reason beside the field), while /api/v1 keeps answering problem details.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import problems
from api.web import live, pages, session
from api.web.render import HERE, render
from services.errors import ServiceError

NOT_PAGES = ("/api/", "/codec", "/metrics", "/healthz", "/slack", "/docs", "/redoc", "/openapi.json")
ROUTERS = (session.router, pages.router, live.router)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


async def _service_error(request: Request, exc: ServiceError) -> Response:
    if not is_page(request) or request.url.path.startswith("/live/"):
        return await problems.service_error(request, exc)
    viewer = await session.viewer_of(request, request.app.state.services)
    return render(request, "error.html", status_code=exc.status, viewer=viewer, status=exc.status, message=exc.reason)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if not is_page(request) or request.url.path.startswith("/live/"):
        return await problems.http_error(request, exc)
    viewer = await session.viewer_of(request, request.app.state.services)
    message = "no such page" if exc.status_code == 404 else str(exc.detail)
    return render(request, "error.html", status_code=exc.status_code, viewer=viewer, status=exc.status_code,
                  message=message, headers=getattr(exc, "headers", None))


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    if not is_page(request) or request.url.path.startswith("/live/"):
        return await problems.invalid(request, exc)
    viewer = await session.viewer_of(request, request.app.state.services)
    where = ", ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}" for e in exc.errors())
    return render(request, "error.html", status_code=422, viewer=viewer, status=422,
                  message=f"this address is not one the cockpit understands ({where})")


async def _login(_request: Request, exc: session.LoginRequired) -> Response:
    return session.login_redirect(exc)


def install(app: FastAPI) -> None:
    """Add the pages, their assets and their HTML refusals (after `problems.install`)."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(session.LoginRequired, _login)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
