"""Connections to where teams keep runbooks, their syncs (on demand, on a schedule, on push).

Admins create connections; the token is sealed with the key ring before it is stored and is never
shown again. Confluence and Notion connections get a Temporal schedule that re-syncs them
(`CONNECTION_SYNC_SECONDS`); GitHub and GitLab connections re-import on push, through a webhook
whose secret is shown once, at creation. Every sync writes an import report and an audit entry.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from temporalio.client import (Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError,
                               ScheduleIntervalSpec, ScheduleOverlapPolicy, SchedulePolicy, ScheduleSpec)

from temporalio.service import RPCError

from runbooks.access import Permission, Principal
from runbooks.connections import registry
from runbooks.connections.sync import ImportReport, WebhookRefused, push_sync, sync_connection
from runbooks.contract import CONNECTION_SYNC_WORKFLOW, connection_schedule_id
from runbooks.keyring import KeyRing, KeyRingError, key_ring, seal
from runbooks.storage.connections import ConnectionStore
from runbooks.storage.tables import ConnectionPageRow, ConnectionRow
from services.context import Services
from services.errors import Forbidden, Invalid, NotFound, Unauthenticated

_NEEDS = {"confluence": "space", "notion": "database", "github": "repo", "gitlab": "repo"}


class ConnectionIn(BaseModel):
    """POST /api/v1/connections. `token` is sealed at once, or `token_setting` names one of
    CONNECTION_TOKENS (nothing stored); `webhook_secret` (git) is made if absent."""

    kind: Literal["confluence", "notion", "github", "gitlab"]
    base_url: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    token: str | None = Field(default=None, min_length=1, max_length=4096)
    token_setting: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    space: str | None = Field(default=None, max_length=255)
    database: str | None = Field(default=None, max_length=255)
    repo: str | None = Field(default=None, max_length=255)
    branch: str = Field(default="main", max_length=255)
    subdir: str = Field(default="", max_length=255)
    label: str | None = Field(default=None, max_length=255)
    title_prefix: str | None = Field(default=None, max_length=255)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=255)
    sync_every_seconds: int | None = Field(default=None, ge=60, description="Overrides CONNECTION_SYNC_SECONDS.")

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_token(self) -> "ConnectionIn":
        if (self.token is None) == (self.token_setting is None):
            raise ValueError("send `token` (stored sealed) or `token_setting` (a name in CONNECTION_TOKENS), one of them")
        return self


class ConnectionOut(BaseModel):
    id: int
    kind: str
    base_url: str
    config: dict[str, Any]
    sync_every_seconds: int | None
    created_by: str
    webhook_url: str | None = None  # git: where the host posts pushes
    webhook_secret: str | None = None  # git: shown once, in the answer to the POST that made it
    last_report: dict[str, Any] | None = None
    pages: list[dict[str, Any]] = Field(default_factory=list)


def _ring(svc: Services, required: bool = True) -> KeyRing | None:
    """The key ring; Invalid when it is misconfigured, or (`required`) when encryption is off."""
    try:
        ring = key_ring(svc.settings)
    except KeyRingError as exc:
        raise Invalid(str(exc)) from None
    if ring is None and required:
        raise Invalid("a connection's token is stored only sealed with the encryption key ring, and "
                      "RUNBOOKS_ENCRYPTION is off: turn it on to add connections")
    return ring


def _admin(who: Principal, what: str) -> None:
    if (refused := who.refusal(Permission.admin, None, what)) is not None:
        raise Forbidden(refused)


def _store(svc: Services) -> ConnectionStore:
    return ConnectionStore(svc.store.engine)


def _out(row: ConnectionRow, last: dict[str, Any] | None = None, pages: list[ConnectionPageRow] | None = None,
         secret: str | None = None) -> ConnectionOut:
    git = row.kind in registry.GIT_HOSTS
    return ConnectionOut(id=row.id or 0, kind=row.kind, base_url=row.base_url, config=row.config,
                         sync_every_seconds=row.sync_every_seconds, created_by=row.created_by,
                         webhook_url=f"/api/v1/connections/{row.id}/webhook" if git else None, webhook_secret=secret,
                         last_report=last, pages=[p.model_dump(mode="json", exclude={"id", "connection_id"})
                                                  for p in pages or []])


async def create(svc: Services, who: Principal, body: ConnectionIn) -> ConnectionOut:
    _admin(who, "add connections")
    needed = _NEEDS[body.kind]
    if not getattr(body, needed):
        raise Invalid(f"a {body.kind} connection needs `{needed}`")
    if body.token_setting and body.token_setting not in svc.settings.connection_tokens_by_name:
        raise Invalid(f"CONNECTION_TOKENS has no token named {body.token_setting!r}")
    git = body.kind in registry.GIT_HOSTS
    ring = _ring(svc) if body.token is not None or git else None
    config = body.model_dump(include={"space", "database", "repo", "branch", "subdir", "label", "title_prefix",
                                      "token_setting"}, exclude_none=True)
    every = None if git else (body.sync_every_seconds or svc.settings.connection_sync_seconds or None)
    secret = (body.webhook_secret or secrets.token_urlsafe(24)) if git else None

    def sealed(connection_id: int) -> tuple[str, str | None]:
        token = seal(ring, body.token, f"connection:{connection_id}:token") if ring and body.token else ""
        hook = seal(ring, secret, f"connection:{connection_id}:webhook") if ring and secret else None
        return token, hook

    row = await asyncio.to_thread(_store(svc).create, ConnectionRow(
        kind=body.kind, base_url=body.base_url, config=config, token_sealed="", sync_every_seconds=every,
        created_by=who.name), sealed)
    if every:
        await _schedule(svc, row.id or 0, every)
    await svc.audit(who.name, "connection.create", f"connection:{row.id}", kind=body.kind, base_url=body.base_url,
                    sync_every_seconds=every, via=who.via, **config)
    return _out(row, secret=secret)


async def _schedule(svc: Services, connection_id: int, every: int) -> None:
    """A Temporal schedule per connection: the sync survives restarts and shows in the Web UI.

    A schedule already under this id belongs to an earlier database's connection of the same number
    (the database was reset, Temporal was not): it is replaced, never reused."""
    schedule_id = connection_schedule_id(connection_id)
    schedule = Schedule(action=ScheduleActionStartWorkflow(CONNECTION_SYNC_WORKFLOW, connection_id,
                                                           id=f"connection-sync-{connection_id}",
                                                           task_queue=svc.settings.task_queue),
                        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every))]),
                        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
    try:
        await svc.client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        await svc.client.get_schedule_handle(schedule_id).delete()
        await svc.client.create_schedule(schedule_id, schedule)


async def remove(svc: Services, who: Principal, connection_id: int) -> None:
    """Stop syncing: the schedule and the connection go; the runbooks it made stay as they are."""
    _admin(who, "remove connections")
    if not await asyncio.to_thread(_store(svc).delete, connection_id):
        raise NotFound(f"no connection {connection_id}")
    try:
        await svc.client.get_schedule_handle(connection_schedule_id(connection_id)).delete()
    except RPCError:
        pass  # on demand only (no schedule), or removed already
    await svc.audit(who.name, "connection.remove", f"connection:{connection_id}", via=who.via)


async def listed(svc: Services, who: Principal) -> list[ConnectionOut]:
    _admin(who, "see connections")
    cstore = _store(svc)
    rows = await asyncio.to_thread(cstore.all)
    out = []
    for row in rows:
        last = await asyncio.to_thread(cstore.syncs, row.id or 0, 1)
        out.append(_out(row, last[0].report if last else None))
    return out


async def one(svc: Services, who: Principal, connection_id: int) -> ConnectionOut:
    _admin(who, "see connections")
    cstore = _store(svc)
    row = await asyncio.to_thread(cstore.get, connection_id)
    if row is None:
        raise NotFound(f"no connection {connection_id}")
    last = await asyncio.to_thread(cstore.syncs, connection_id, 1)
    pages = await asyncio.to_thread(cstore.pages, connection_id)
    return _out(row, last[0].report if last else None, pages)


async def reports(svc: Services, who: Principal, connection_id: int, limit: int = 20) -> list[dict[str, Any]]:
    await one(svc, who, connection_id)
    rows = await asyncio.to_thread(_store(svc).syncs, connection_id, limit)
    return [{"id": r.id, "started_at": r.started_at, "finished_at": r.finished_at, **r.report} for r in rows]


async def sync(svc: Services, who: Principal, connection_id: int) -> ImportReport:
    """Sync now; the import report (a connection that cannot be read says so in `error`)."""
    _admin(who, "sync connections")
    ring = _ring(svc, required=False)  # a token named from CONNECTION_TOKENS needs no key ring
    try:
        report = await asyncio.to_thread(sync_connection, svc.store, _store(svc), ring, connection_id,
                                         trigger="manual", by=who.name, tokens=svc.settings.connection_tokens_by_name,
                                         llm=svc.settings.llm)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    await _after(svc, who.name, report)
    return report


async def _after(svc: Services, actor: str, report: ImportReport) -> None:
    await svc.audit(actor, "connection.sync", f"connection:{report.connection_id}", trigger=report.trigger,
                    found=report.found, imported=report.imported, unchanged=report.unchanged, refused=report.refused,
                    flagged=report.flagged, error=report.error, commit=report.commit)
    if report.imported or report.flagged:
        await svc.catalog.refresh()


async def webhook(svc: Services, connection_id: int, headers: dict[str, str], body: bytes) -> ImportReport | None:
    """A push delivery from GitHub or GitLab, authenticated by its signature (or token), not a bearer."""
    row = await asyncio.to_thread(_store(svc).get, connection_id)
    if row is None or row.kind not in registry.GIT_HOSTS:
        raise NotFound(f"no GitHub or GitLab connection {connection_id}")
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise Invalid("a webhook delivery is a JSON object")
    try:
        report = await asyncio.to_thread(push_sync, svc.store, _store(svc), _ring(svc), row,
                                         {k.lower(): v for k, v in headers.items()}, body, payload,
                                         svc.settings.connection_tokens_by_name, svc.settings.llm)
    except WebhookRefused as exc:
        await svc.audit(f"{row.kind}-webhook", "connection.webhook_refused", f"connection:{connection_id}",
                        reason=str(exc))
        raise Unauthenticated(str(exc)) from None
    if report is not None:
        await _after(svc, f"{row.kind}:{report.by}", report)
    return report
