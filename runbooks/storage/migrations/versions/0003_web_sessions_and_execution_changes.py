"""The web cockpit: browser sessions, and a change mark on executions for live pages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

- new table web_sessions (a signed-in browser; the cookie's secret is kept only as its SHA-256);
- executions.updated_at (indexed), moved by every write about an execution, so that one query a
  few times a second finds what changed for every open page; existing rows get their start (or
  finish) time;
- step_records.waiting_since: when a step began waiting for a decision (the cockpit shows how long
  it waits and when the next escalation comes).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user'), ['user'], unique=False)
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_executions_updated_at'), ['updated_at'], unique=False)
    op.execute("UPDATE executions SET updated_at = COALESCE(finished_at, started_at)")
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.drop_column('waiting_since')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_executions_updated_at'))
        batch_op.drop_column('updated_at')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user'))
    op.drop_table('web_sessions')
