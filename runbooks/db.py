"""The application database (SQLModel): runbooks and their immutable versions, alerts received,
executions, step records, approvals and the execution timeline. SQLite by default, PostgreSQL in
production; the same models serve both."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, create_engine


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), **kw))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class RunbookRow(SQLModel, table=True):
    __tablename__ = "runbooks"
    id: str = Field(primary_key=True, max_length=128)
    title: str
    service: str | None = None
    source_path: str | None = None
    latest_version: int = 1
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class RunbookVersionRow(SQLModel, table=True):
    """Never updated: an edit is a new row, and executions name the version they ran."""

    __tablename__ = "runbook_versions"
    __table_args__ = (UniqueConstraint("runbook_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    runbook_id: str = Field(index=True, max_length=128)
    version: int
    content_hash: str = Field(max_length=64)
    source: str = Field(sa_column=Column(Text, nullable=False))
    model: dict = _json(dict)
    author: str = "loader"
    source_kind: str = Field(default="directory", max_length=16)  # directory | paste | upload | git | revert
    commit: str | None = Field(default=None, max_length=64)  # git commit the text came from
    created_at: datetime | None = _ts()


class AlertRow(SQLModel, table=True):
    """Every alert of every delivery, matched or not: nothing is dropped silently."""

    __tablename__ = "alerts"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    fingerprint: str = Field(index=True, max_length=128)
    status: str = Field(max_length=16)
    alertname: str | None = Field(default=None, index=True, max_length=256)
    labels: dict = _json(dict)
    annotations: dict = _json(dict)
    starts_at: datetime | None = _ts()
    received_at: datetime | None = _ts()
    execution_id: str | None = Field(default=None, index=True, max_length=400)
    runbook_id: str | None = Field(default=None, max_length=128)
    raw: dict = _json(dict)


class ExecutionRow(SQLModel, table=True):
    __tablename__ = "executions"
    id: str = Field(primary_key=True, max_length=400)
    runbook_id: str = Field(index=True, max_length=128)
    runbook_version: int
    mode: str = Field(max_length=16)
    status: str = Field(index=True, max_length=32)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    alertname: str | None = Field(default=None, max_length=256)
    alert_fingerprint: str | None = Field(default=None, max_length=128)
    params: dict = _json(dict)
    group_key: str | None = Field(default=None, max_length=512)
    started_by: str = "alert"
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()


class GroupClaim(SQLModel, table=True):
    """One open execution per (runbook, group_by values): the primary key makes the claim exact."""

    __tablename__ = "group_claims"
    group_key: str = Field(primary_key=True, max_length=512)
    execution_id: str = Field(index=True, max_length=400)
    claimed_at: datetime | None = _ts()


class RejectedDelivery(SQLModel, table=True):
    """A delivery we refused as malformed, kept with its raw body so a person can see what was sent."""

    __tablename__ = "rejected_deliveries"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    status: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    headers: dict = _json(dict)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime | None = _ts()


class SlackMessageRow(SQLModel, table=True):
    """Where an execution lives in Slack: its thread (step_id "") and each approval request message."""

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("execution_id", "step_id"),)
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    step_id: str = Field(default="", max_length=128)
    channel: str = Field(max_length=64)
    ts: str = Field(max_length=32)


class StepRow(SQLModel, table=True):
    __tablename__ = "step_records"
    __table_args__ = (UniqueConstraint("execution_id", "step_id"),)
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    step_id: str = Field(max_length=128)
    position: int
    title: str
    risk: str = Field(max_length=8)
    risk_reason: str = ""
    target: str = "local"
    command: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(max_length=32)
    exit_code: int | None = None
    output: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    rollback_command: str | None = Field(default=None, sa_column=Column(Text))
    rollback_status: str | None = None
    rollback_exit_code: int | None = None
    rollback_output: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    needs: list = _json(list)


class ApprovalRow(SQLModel, table=True):
    """Who decided what, and when: one decision per step of an execution."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("execution_id", "step_id"),)
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    step_id: str = Field(max_length=128)
    approved: bool
    actor: str = Field(max_length=200)
    comment: str = ""
    values: dict = _json(dict)
    decided_at: datetime | None = _ts()


class EventRow(SQLModel, table=True):
    __tablename__ = "execution_events"
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    kind: str = Field(max_length=32)
    step_id: str | None = None
    target: str | None = None
    message: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = _ts()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:  # WAL: readers don't block the writer
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def create_schema(engine: Engine, *, auto_migrate: bool | None = None) -> None:
    """Bring the database to the schema this release needs: run the Alembic migrations up to head
    (under a lock, so replicas starting together are safe; a database made by the pre-migrations
    `create_all` is adopted). With AUTO_MIGRATE=false (or `auto_migrate=False`) nothing is changed:
    the schema must already be at head, else `runbooks.migrate.SchemaError` says to run
    `runbooks db upgrade`."""
    # Imported here: runbooks.migrate (and the migrations' env.py) import this module for the models.
    from runbooks import migrate

    if auto_migrate is None:
        from runbooks.settings import Settings

        auto_migrate = Settings().auto_migrate
    if auto_migrate:
        migrate.upgrade_engine(engine)
    else:
        migrate.check_at_head(engine)
