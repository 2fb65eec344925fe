"""Connections to Confluence, Notion, GitHub and GitLab; their syncs and reports; runbook drafts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.auth import needs, public
from api.deps import services
from api.problems import responses
from runbooks.access import Permission, Principal
from runbooks.connections.sync import ImportReport
from services import connections, drafts
from services.context import Services

router = APIRouter(prefix="/api/v1", tags=["connections"], responses=responses(401, 403))
ID = Path(ge=1, le=2**31 - 1)


@router.post("/connections", response_model=connections.ConnectionOut, status_code=201,
             responses=responses(400, 422))
async def create_connection(body: connections.ConnectionIn, svc: Services = Depends(services),
                            who: Principal = Depends(needs(Permission.admin))) -> connections.ConnectionOut:
    """Add a connection (admins). The token is sealed with the key ring and never shown again; a GitHub
    or GitLab connection answers with its webhook URL and secret, shown only here."""
    return await connections.create(svc, who, body)


@router.get("/connections", response_model=list[connections.ConnectionOut])
async def list_connections(svc: Services = Depends(services),
                           who: Principal = Depends(needs(Permission.admin))) -> list[connections.ConnectionOut]:
    """Every connection with its last import report (never its token)."""
    return await connections.listed(svc, who)


@router.get("/connections/{connection_id}", response_model=connections.ConnectionOut, responses=responses(404))
async def get_connection(connection_id: int = ID, svc: Services = Depends(services),
                         who: Principal = Depends(needs(Permission.admin))) -> connections.ConnectionOut:
    """One connection: its last import report and every page it found (present, refused or gone)."""
    return await connections.one(svc, who, connection_id)


@router.delete("/connections/{connection_id}", status_code=204, responses=responses(404))
async def remove_connection(connection_id: int = ID, svc: Services = Depends(services),
                            who: Principal = Depends(needs(Permission.admin))) -> Response:
    """Stop syncing a connection (its schedule goes too). The runbooks it made stay, with their versions."""
    await connections.remove(svc, who, connection_id)
    return Response(status_code=204)


@router.get("/connections/{connection_id}/reports", responses=responses(404))
async def connection_reports(connection_id: int = ID, limit: int = Query(20, ge=1, le=200),
                             svc: Services = Depends(services),
                             who: Principal = Depends(needs(Permission.admin))) -> list[dict[str, Any]]:
    """The import reports, newest first: by schedule, by hand or by push."""
    return await connections.reports(svc, who, connection_id, limit)


@router.post("/connections/{connection_id}/sync", response_model=ImportReport, responses=responses(404))
async def sync_connection(connection_id: int = ID, svc: Services = Depends(services),
                          who: Principal = Depends(needs(Permission.admin))) -> ImportReport:
    """Sync now. The import report: pages found, imported, unchanged, refused (reason and line), flagged;
    a connection that cannot be read (a bad token) says so in `error`, in one line."""
    return await connections.sync(svc, who, connection_id)


@router.post("/connections/{connection_id}/webhook", response_model=ImportReport | None,
             responses=responses(400, 404, 422),
             dependencies=[Depends(public("a GitHub or GitLab push: verified by its signature or token"))])
async def connection_webhook(request: Request, response: Response, connection_id: int = ID,
                             svc: Services = Depends(services)) -> ImportReport | None:
    """GitHub (`X-Hub-Signature-256`) or GitLab (`X-Gitlab-Token`) push: the runbooks it changed on the
    configured branch are imported again, the ones it deleted flagged. Other events answer 202 and do
    nothing."""
    report = await connections.webhook(svc, connection_id, dict(request.headers), await request.body())
    if report is None:
        response.status_code = 202
    return report


@router.post("/drafts", response_model=drafts.DraftOut, status_code=201, responses=responses(400, 422, 503))
async def create_draft(body: drafts.DraftIn, svc: Services = Depends(services),
                       who: Principal = Depends(needs(Permission.edit))) -> drafts.DraftOut:
    """Draft a runbook from a shell session, a Slack thread or a postmortem: a version in
    `pending_review`, each step with its `source`."""
    return await drafts.create(svc, who, body)
