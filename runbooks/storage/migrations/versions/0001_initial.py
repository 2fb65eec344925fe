"""Initial schema: every table as `SQLModel.metadata.create_all` made it before migrations existed.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Generated with autogenerate from the models in runbooks/db.py, then reviewed by hand against them:
- JSON columns are sa.JSON (JSON on PostgreSQL, not JSONB), NOT NULL; their defaults ({} or []) are
  Python-side (default_factory), so there is no server default;
- timestamps are DateTime(timezone=True) (timestamptz on PostgreSQL), nullable;
- long text is sa.Text; `str` fields with max_length are VARCHAR(n), without one plain VARCHAR;
- the three unique pairs are unnamed UniqueConstraints, as the models declare them (PostgreSQL names
  them <table>_<cols>_key, SQLite keeps them anonymous: the same as create_all did);
- every `index=True` field has its non-unique index ix_<table>_<column>;
- integer `id` primary keys autoincrement (SERIAL on PostgreSQL), string primary keys do not.
Databases created by create_all before this revision are stamped at 0001 (runbooks.storage.migrate).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "runbooks",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("source_path", sa.String(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )

    op.create_table(
        "runbook_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("runbook_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("runbook_id", "version"),
    )
    op.create_index("ix_runbook_versions_runbook_id", "runbook_versions", ["runbook_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alertname", sa.String(length=256), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        _ts("starts_at"),
        _ts("received_at"),
        sa.Column("execution_id", sa.String(length=400), nullable=True),
        sa.Column("runbook_id", sa.String(length=128), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_fingerprint", "alerts", ["fingerprint"], unique=False)
    op.create_index("ix_alerts_alertname", "alerts", ["alertname"], unique=False)
    op.create_index("ix_alerts_execution_id", "alerts", ["execution_id"], unique=False)

    op.create_table(
        "executions",
        sa.Column("id", sa.String(length=400), nullable=False),
        sa.Column("runbook_id", sa.String(length=128), nullable=False),
        sa.Column("runbook_version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alertname", sa.String(length=256), nullable=True),
        sa.Column("alert_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("group_key", sa.String(length=512), nullable=True),
        sa.Column("started_by", sa.String(), nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        _ts("resolved_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_executions_runbook_id", "executions", ["runbook_id"], unique=False)
    op.create_index("ix_executions_status", "executions", ["status"], unique=False)

    op.create_table(
        "group_claims",
        sa.Column("group_key", sa.String(length=512), nullable=False),
        sa.Column("execution_id", sa.String(length=400), nullable=False),
        _ts("claimed_at"),
        sa.PrimaryKeyConstraint("group_key"),
    )
    op.create_index("ix_group_claims_execution_id", "group_claims", ["execution_id"], unique=False)

    op.create_table(
        "rejected_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("received_at"),
        sa.PrimaryKeyConstraint("id"),
    )

    op.create_table(
        "slack_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=400), nullable=False),
        sa.Column("step_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("execution_id", "step_id"),
    )
    op.create_index("ix_slack_messages_execution_id", "slack_messages", ["execution_id"], unique=False)

    op.create_table(
        "step_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=400), nullable=False),
        sa.Column("step_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("risk_reason", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        sa.Column("rollback_command", sa.Text(), nullable=True),
        sa.Column("rollback_status", sa.String(), nullable=True),
        sa.Column("rollback_exit_code", sa.Integer(), nullable=True),
        sa.Column("rollback_output", sa.Text(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("execution_id", "step_id"),
    )
    op.create_index("ix_step_records_execution_id", "step_records", ["execution_id"], unique=False)

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=400), nullable=False),
        sa.Column("step_id", sa.String(length=128), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.String(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        _ts("decided_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("execution_id", "step_id"),
    )
    op.create_index("ix_approvals_execution_id", "approvals", ["execution_id"], unique=False)

    op.create_table(
        "execution_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("step_id", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_execution_events_execution_id", "execution_events", ["execution_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it (no foreign keys between tables).
    for table in ("execution_events", "approvals", "step_records", "slack_messages", "rejected_deliveries",
                  "group_claims", "executions", "alerts", "runbook_versions", "runbooks"):
        op.drop_table(table)
