"""What a step waits for ("agent dmz is offline", a breakpoint) and how often its command ran (`Retries:`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_for', sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('step_records', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('waiting_for')
