"""Runbook pairings: a person's choice of runbook for an alert name.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('runbook_pairings',
    sa.Column('alertname', sa.String(length=256), nullable=False),
    sa.Column('runbook_id', sa.String(length=128), nullable=False),
    sa.Column('chosen_by', sa.String(length=200), nullable=False),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('replaced', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('alertname')
    )


def downgrade() -> None:
    op.drop_table('runbook_pairings')
