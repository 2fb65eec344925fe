"""Suggested runbook changes someone dismissed, with the reason.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('suggestion_dismissals',
    sa.Column('suggestion_id', sa.String(length=32), nullable=False),
    sa.Column('runbook_id', sa.String(length=128), nullable=False),
    sa.Column('dismissed_by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('suggestion_id')
    )
    with op.batch_alter_table('suggestion_dismissals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestion_dismissals_runbook_id'), ['runbook_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('suggestion_dismissals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestion_dismissals_runbook_id'))
    op.drop_table('suggestion_dismissals')
