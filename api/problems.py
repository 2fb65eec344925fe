"""One error shape on every route: RFC 9457 problem details (`application/problem+json`).

`detail` is always a sentence a person can act on; request validation adds `errors` (where and
what). A service's refusal, an HTTP error, a bad request, a database that is away and a bug all
answer in this shape, and the OpenAPI documents it for each status a route can return.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import ServiceError

log = logging.getLogger("runbooks.api")
MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: body, query, path, then the field")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details; some carry extension members (`line` of a bad runbook, `steps` lacking values)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="a URI naming the kind of problem")
    title: str = Field(description="the HTTP status phrase")
    status: int
    detail: str = Field(description="what went wrong, for a person")
    errors: list[FieldError] | None = Field(default=None, description="request validation: each field refused")


def problem(status: int, detail: str, errors: list[FieldError] | None = None,
            headers: dict[str, str] | None = None, **extensions: Any) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors, **extensions)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE,
                        headers=headers)


_RESERVED = {"type", "title", "status", "detail", "errors", "message"}


async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
    """`reason` is the detail; a structured `detail` (the line of a bad runbook, the steps lacking
    values) becomes extension members beside it."""
    extra = {k: v for k, v in exc.detail.items() if k not in _RESERVED} if isinstance(exc.detail, dict) else {}
    headers = {"WWW-Authenticate": 'Bearer realm="living-runbooks"'} if exc.status == 401 else None
    return problem(exc.status, exc.reason, headers=headers, **extra)


async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [FieldError(loc=[str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                         msg=str(e.get("msg", "invalid"))) for e in exc.errors()]
    first = errors[0] if errors else None
    where = ".".join(str(p) for p in first.loc) if first else "request"
    return problem(422, f"{where}: {first.msg}" if first else "invalid request", errors)


async def _database_away(_request: Request, exc: OperationalError) -> JSONResponse:
    log.warning("database unreachable: %s", exc.orig)
    return problem(503, "the database is unreachable; nothing was changed, retry later")


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal error; it is logged on the server")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, service_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _database_away)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _bug)
    _with_problem_schema(app)


# Any route may answer these: a malformed or oversized body, a request that fails validation, the database away.
COMMON = (400, 413, 422, 503)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A router's `responses=`: the statuses its routes may refuse with (and the common ones), as problems."""
    return {s: {"description": HTTPStatus(s).phrase,
                "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in sorted({*COMMON, *statuses})}


def refusal(status: int, description: str) -> dict[str, Any]:
    """One documented refusal with its own description, in the problem shape."""
    return {"description": description, "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _with_problem_schema(app: FastAPI) -> None:
    """Errors are documented as `application/problem+json` only: put the Problem schema in the components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            defs = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(defs.pop("$defs", {}))
            components["Problem"] = defs
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
