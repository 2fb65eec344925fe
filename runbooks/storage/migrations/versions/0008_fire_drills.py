"""Fire drills: the drills table, and executions marked as a drill's (kept out of insights and metrics).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('drills',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('runbook_id', sa.String(length=128), nullable=False),
    sa.Column('execution_id', sa.String(length=400), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('target', sa.String(length=512), nullable=True),
    sa.Column('matched_runbook_id', sa.String(length=128), nullable=True),
    sa.Column('match_reason', sa.Text(), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drills_execution_id'), ['execution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drills_runbook_id'), ['runbook_id'], unique=False)
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drill', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_column('drill')
    with op.batch_alter_table('drills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drills_runbook_id'))
        batch_op.drop_index(batch_op.f('ix_drills_execution_id'))
    op.drop_table('drills')
