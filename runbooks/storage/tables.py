"""The application database's tables (SQLModel): runbooks and their immutable versions, alerts received,
executions, step records, approvals and the execution timeline. SQLite by default, PostgreSQL in
production; the same models serve both."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Text, TypeDecorator, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as UTC, read back aware: SQLite keeps no offset, so without this an API answer would
    show `2026-12-02T15:06:54` with no zone. The column type (DDL) is unchanged."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # naive means UTC here (utcnow() and Temporal's clock are UTC): never the database server's zone
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), **kw))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class RunbookRow(SQLModel, table=True):
    __tablename__ = "runbooks"
    id: str = Field(primary_key=True, max_length=128)
    title: str
    service: str | None = None
    source_path: str | None = None
    latest_version: int = 1
    live_version: int | None = None  # what executions and matching use; None until a version is reviewed
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
    source_url: str | None = Field(default=None, sa_column=Column(Text))  # the page or file a connection read
    source_version: str | None = Field(default=None, max_length=64)  # its version there (page version, blob sha)
    created_at: datetime | None = _ts()
    # The review, the one part that changes: pending_review -> live | rejected, once (runbooks/review.py).
    state: str = Field(default="live", max_length=16)
    review_reasons: list = _json(list)
    reviewed_by: str | None = Field(default=None, max_length=200)
    reviewed_at: datetime | None = _ts()
    review_comment: str | None = Field(default=None, sa_column=Column(Text))


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
    incident_id: str | None = Field(default=None, index=True, max_length=64)
    # matched, but not started: another alert of its incident is the likely root cause and its
    # runbook (this execution) runs first; this one waits as a suggestion, for the reason given
    held_by: str | None = Field(default=None, max_length=400)
    hold_reason: str | None = Field(default=None, sa_column=Column(Text))


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
    # a fire drill's execution: kept out of insights, suggestions and metrics (see DrillRow)
    drill: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False,
                                                        server_default=false()))
    # moved by every write about this execution (state, step output, timeline): what live pages follow
    updated_at: datetime | None = _ts(index=True)


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
    waiting_since: datetime | None = _ts()  # when it began waiting for a decision (escalations count from here)
    waiting_for: str | None = Field(default=None, max_length=400)  # "agent dmz is offline", a breakpoint
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # runs of its command (`Retries:`)


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
    approvers: list = _json(list)  # every distinct approver, when the runbook asks for several (`approvals: N`)


class ApprovalVoteRow(SQLModel, table=True):
    """One person's approval of a red step that needs several: the workflow hears of it at the N-th."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("execution_id", "step_id", "actor"),)
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    step_id: str = Field(max_length=128)
    actor: str = Field(max_length=200)
    comment: str = ""
    at: datetime | None = _ts()


class TeamRow(SQLModel, table=True):
    __tablename__ = "teams"
    name: str = Field(primary_key=True, max_length=64)
    created_at: datetime | None = _ts()


class UserRow(SQLModel, table=True):
    """A person or a service that holds tokens: its roles, its teams, and its Slack id if it has one."""

    __tablename__ = "users"
    name: str = Field(primary_key=True, max_length=200)
    roles: list = _json(list)
    teams: list = _json(list)
    slack_id: str | None = Field(default=None, unique=True, max_length=64)
    disabled: bool = False
    created_at: datetime | None = _ts()


class TokenRow(SQLModel, table=True):
    """An API token: only its SHA-256 is kept (it is 256 random bits, so a slow hash would add nothing)."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=200)
    user: str = Field(index=True, max_length=200)
    token_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=16)  # the first characters, to tell tokens apart in a list
    created_by: str = Field(default="operator", max_length=200)
    created_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    last_used_at: datetime | None = _ts()


class AuditRow(SQLModel, table=True):
    """An append-only, hash-chained audit entry (runbooks/audit.py says how the chain is checked)."""

    __tablename__ = "audit_log"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor: str = Field(index=True, max_length=200)
    action: str = Field(index=True, max_length=64)
    target: str = Field(default="", index=True, max_length=400)
    detail: dict = _json(dict)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    checkpoint: str | None = Field(default=None, max_length=64)


class AuditHeadRow(SQLModel, table=True):
    """The last entry's position and hash with their MAC, written with each entry."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)


class IncidentRow(SQLModel, table=True):
    """Alerts that belong together (the same `instance`, else `service`, within a few minutes): one
    incident, one timeline. Its alerts point at it; its executions are theirs."""

    __tablename__ = "incidents"
    id: str = Field(primary_key=True, max_length=64)
    key: str = Field(index=True, max_length=512)  # label=value the alerts share, e.g. instance=web-1
    title: str = Field(max_length=512)  # the first alert's name and the key
    opened_at: datetime | None = _ts()
    last_alert_at: datetime | None = _ts()


class IncidentKeyRow(SQLModel, table=True):
    """The open incident of a key: the row each new alert of that key locks, so that two API
    replicas never open two incidents for one burst."""

    __tablename__ = "incident_keys"
    key: str = Field(primary_key=True, max_length=512)
    incident_id: str = Field(max_length=64)
    last_at: datetime | None = _ts()


class DrillRow(SQLModel, table=True):
    """A fire drill: the synthetic alert it sent through matching, and the execution it started."""

    __tablename__ = "drills"
    id: str = Field(primary_key=True, max_length=64)
    runbook_id: str = Field(index=True, max_length=128)
    execution_id: str = Field(index=True, max_length=400)
    labels: dict = _json(dict)
    target: str | None = Field(default=None, max_length=512)  # the sandbox its commands ran on, if any
    matched_runbook_id: str | None = Field(default=None, max_length=128)  # what matching chose for its alert
    match_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    started_by: str = Field(max_length=200)
    started_at: datetime | None = _ts()


class NoteRow(SQLModel, table=True):
    """What a person adds to an execution's story: an observation, or "I also ran `cmd`" (the
    command is kept apart, so that one people keep running can become a step)."""

    __tablename__ = "notes"
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    author: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    command: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime | None = _ts()


class PairingRow(SQLModel, table=True):
    """A person's choice of runbook for an alert name (they started it by hand for such an alert):
    the next alert of that name matches it, with a reason that names them."""

    __tablename__ = "runbook_pairings"
    alertname: str = Field(primary_key=True, max_length=256)
    runbook_id: str = Field(max_length=128)
    chosen_by: str = Field(max_length=200)
    chosen_at: datetime | None = _ts()
    alert_id: int | None = None  # the alert it was chosen for
    replaced: str | None = Field(default=None, max_length=128)  # what matching had answered (None: nothing)


class DismissalRow(SQLModel, table=True):
    """A suggested change someone chose not to make, and why: it is not proposed again."""

    __tablename__ = "suggestion_dismissals"
    suggestion_id: str = Field(primary_key=True, max_length=32)
    runbook_id: str = Field(index=True, max_length=128)
    dismissed_by: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = _ts()


class WebSessionRow(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random secret, this row only its SHA-256. A session
    made from a token ends with that token (revoked, expired), and with its user (disabled)."""

    __tablename__ = "web_sessions"
    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's secret
    user: str = Field(index=True, max_length=200)
    token_id: int | None = None  # the API token used to sign in; None for single sign-on
    via: str = Field(default="token", max_length=16)  # token | proxy
    csrf: str = Field(max_length=64)  # the value every form and htmx request of this session must echo
    created_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()


class EventRow(SQLModel, table=True):
    __tablename__ = "execution_events"
    id: int | None = Field(default=None, primary_key=True)
    execution_id: str = Field(index=True, max_length=400)
    kind: str = Field(max_length=32)
    step_id: str | None = None
    target: str | None = None
    message: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime | None = _ts()


class ConnectionRow(SQLModel, table=True):
    """Where a team keeps runbooks (Confluence, Notion, GitHub, GitLab); the token only sealed."""

    __tablename__ = "connections"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    base_url: str = Field(max_length=500)
    config: dict = _json(dict)  # space, database, repo, branch, subdir, label, title_prefix
    token_sealed: str = Field(sa_column=Column(Text, nullable=False))  # runbooks/keyring.py seal()
    webhook_secret_sealed: str | None = Field(default=None, sa_column=Column(Text))
    sync_every_seconds: int | None = None  # the Temporal schedule's interval; None: on demand only
    created_by: str = Field(max_length=200)
    created_at: datetime | None = _ts()
    last_sync_at: datetime | None = _ts()


class ConnectionPageRow(SQLModel, table=True):
    """A page (or file) a connection found, and the runbook it became: the key outlives a rename."""

    __tablename__ = "connection_pages"
    __table_args__ = (UniqueConstraint("connection_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(index=True)
    key: str = Field(max_length=500)
    runbook_id: str | None = Field(default=None, max_length=128)
    title: str = Field(default="", max_length=500)
    url: str | None = Field(default=None, sa_column=Column(Text))
    version: str | None = Field(default=None, max_length=64)
    state: str = Field(default="present", max_length=16)  # present | refused | gone
    note: str | None = Field(default=None, sa_column=Column(Text))  # why refused or flagged
    updated_at: datetime | None = _ts()


class ConnectionSyncRow(SQLModel, table=True):
    """One import report: every sync, by schedule, by hand or by a push, is kept."""

    __tablename__ = "connection_syncs"
    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(index=True)
    trigger: str = Field(max_length=16)  # schedule | manual | push
    by: str = Field(max_length=200)
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    report: dict = _json(dict)
