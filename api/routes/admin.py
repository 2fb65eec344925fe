"""Identity and the audit trail: who am I, users, teams, tokens (admin), and the audit log (admin).

Every change here is in the audit trail (services/accounts.py); a token's secret is in the answer
that creates it and nowhere else, ever.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.auth import needs
from api.deps import services
from api.problems import responses
from api.schemas import (
    AuditEntryView, AuditVerdict, TeamCreate, TeamView, TokenCreate, TokenCreated, TokenView, UserCreate, UserUpdate,
    UserView, WhoAmI,
)
from runbooks.access import Permission, Principal
from runbooks.storage.tables import AuditRow, TokenRow, UserRow
from services import accounts
from services.context import Services

router = APIRouter(prefix="/api/v1", tags=["identity"], responses=responses(401, 403, 404, 409))
ADMIN = Depends(needs(Permission.admin))


def _user(u: UserRow) -> UserView:
    return UserView(name=u.name, roles=u.roles, teams=u.teams, slack_id=u.slack_id, disabled=u.disabled,
                    created_at=u.created_at)


def _token(t: TokenRow) -> TokenView:
    return TokenView(name=t.name, user=t.user, prefix=t.prefix, created_by=t.created_by, created_at=t.created_at,
                     expires_at=t.expires_at, revoked_at=t.revoked_at, last_used_at=t.last_used_at)


def _entry(e: AuditRow) -> AuditEntryView:
    return AuditEntryView(seq=e.seq, at=e.at, actor=e.actor, action=e.action, target=e.target, detail=e.detail,
                          hash=e.hash)


@router.get("/whoami", response_model=WhoAmI)
async def whoami(who: Principal = Depends(needs(Permission.read))) -> WhoAmI:
    """The identity this request authenticated as, with its roles, teams and what they allow."""
    return WhoAmI(name=who.name, roles=sorted(r.value for r in who.roles), teams=sorted(who.teams), via=who.via,
                  token=who.token, permissions=sorted(p.value for p in who.permissions))


@router.get("/users", response_model=list[UserView], dependencies=[ADMIN])
async def list_users(svc: Services = Depends(services)) -> list[UserView]:
    return [_user(u) for u in await asyncio.to_thread(svc.identity.users)]


@router.post("/users", response_model=UserView, status_code=201)
async def add_user(body: UserCreate, svc: Services = Depends(services), who: Principal = ADMIN) -> UserView:
    """A person or a service; teams that do not exist yet are made."""
    row = await asyncio.to_thread(accounts.add_user, svc.identity, svc.audit_log, who.name, body.name, body.roles,
                                  body.teams, body.slack_id)
    return _user(row)


@router.patch("/users/{name}", response_model=UserView)
async def update_user(name: str, body: UserUpdate, svc: Services = Depends(services), who: Principal = ADMIN) -> UserView:
    """Change roles, teams or the Slack id, or disable the user (their tokens stop working at once)."""
    row = await asyncio.to_thread(lambda: accounts.update_user(
        svc.identity, svc.audit_log, who.name, name, roles=body.roles, teams=body.teams, slack_id=body.slack_id,
        disabled=body.disabled))
    return _user(row)


@router.get("/teams", response_model=list[TeamView], dependencies=[ADMIN])
async def list_teams(svc: Services = Depends(services)) -> list[TeamView]:
    teams, users = await asyncio.to_thread(lambda: (svc.identity.teams(), svc.identity.users()))
    return [TeamView(name=t.name, created_at=t.created_at, members=[u.name for u in users if t.name in u.teams])
            for t in teams]


@router.post("/teams", response_model=TeamView, status_code=201)
async def add_team(body: TeamCreate, svc: Services = Depends(services), who: Principal = ADMIN) -> TeamView:
    teams = await asyncio.to_thread(accounts.ensure_teams, svc.identity, svc.audit_log, who.name, [body.name])
    found = next(t for t in await asyncio.to_thread(svc.identity.teams) if t.name == teams[0])
    return TeamView(name=found.name, created_at=found.created_at, members=[])


@router.get("/tokens", response_model=list[TokenView], dependencies=[ADMIN])
async def list_tokens(svc: Services = Depends(services)) -> list[TokenView]:
    """Every token with its holder and state; never a secret (only the hash is kept)."""
    return [_token(t) for t in await asyncio.to_thread(svc.identity.tokens)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def create_token(body: TokenCreate, svc: Services = Depends(services), who: Principal = ADMIN) -> TokenCreated:
    """A new token: the secret is in this answer once; afterwards only its hash exists."""
    secret, row = await asyncio.to_thread(accounts.create_token, svc.identity, svc.audit_log, who.name, body.name,
                                          body.user, body.expires_in_days)
    return TokenCreated(**_token(row).model_dump(), token=secret)


@router.delete("/tokens/{name}", status_code=200)
async def revoke_token(name: str, svc: Services = Depends(services), who: Principal = ADMIN) -> dict:
    """Revoke the token of this name: the next request with it is refused (401)."""
    count = await asyncio.to_thread(accounts.revoke_token, svc.identity, svc.audit_log, who.name, name)
    return {"name": name, "revoked": count}


@router.get("/audit", response_model=list[AuditEntryView], dependencies=[ADMIN])
async def audit(actor: str | None = None, action: str | None = Query(None, description="e.g. step.approve, or "
                                                                                      "runbook.* for a family"),
                target: str | None = Query(None, description="e.g. execution:ID, runbook:ID, user:NAME"),
                since: datetime | None = None, until: datetime | None = None,
                after: int = Query(0, ge=0, le=2**62, description="entries after this sequence number (paging)"),
                limit: int = Query(100, ge=1, le=10_000),
                svc: Services = Depends(services)) -> list[AuditEntryView]:
    """The audit trail, oldest first, filtered; page with `after` = the last `seq` you have."""
    rows = await asyncio.to_thread(lambda: svc.audit_log.query(actor=actor, action=action, target=target, since=since,
                                                               until=until, after=after, limit=limit))
    return [_entry(r) for r in rows]


@router.get("/audit/export", dependencies=[ADMIN], response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}, "description": "one entry per line"}})
async def export(after: int = Query(0, ge=0, le=2**62), svc: Services = Depends(services)) -> StreamingResponse:
    """The whole trail as JSON lines for a SIEM, with each entry's hash chain and checkpoint."""
    def lines() -> Iterator[bytes]:
        for e in svc.audit_log.entries():
            if e.seq > after:
                yield (json.dumps({"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                                   "target": e.target, "detail": e.detail, "prev_hash": e.prev_hash,
                                   "hash": e.hash, "checkpoint": e.checkpoint}, ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/audit/verify", response_model=AuditVerdict, dependencies=[ADMIN])
async def verify(svc: Services = Depends(services)) -> AuditVerdict:
    """Walk the whole chain (as `runbooks audit verify` does): intact, or the first bad entry."""
    verdict = await asyncio.to_thread(svc.audit_log.verify)
    return AuditVerdict(ok=verdict.ok, entries=verdict.entries, checkpoints=verdict.checkpoints,
                        first_bad=verdict.first_bad, problem=verdict.problem)
