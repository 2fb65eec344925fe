"""Connections to where teams keep runbooks, the pages they found, their import reports; and where
each runbook version came from (page URL and version).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'connections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('base_url', sa.String(length=500), nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('token_sealed', sa.Text(), nullable=False),
        sa.Column('webhook_secret_sealed', sa.Text(), nullable=True),
        sa.Column('sync_every_seconds', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'connection_pages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=500), nullable=False),
        sa.Column('runbook_id', sa.String(length=128), nullable=True),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('version', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id', 'key'),
    )
    op.create_index('ix_connection_pages_connection_id', 'connection_pages', ['connection_id'])
    op.create_table(
        'connection_syncs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('by', sa.String(length=200), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_connection_syncs_connection_id', 'connection_syncs', ['connection_id'])
    with op.batch_alter_table('runbook_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source_version', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runbook_versions', schema=None) as batch_op:
        batch_op.drop_column('source_version')
        batch_op.drop_column('source_url')
    op.drop_index('ix_connection_syncs_connection_id', table_name='connection_syncs')
    op.drop_table('connection_syncs')
    op.drop_index('ix_connection_pages_connection_id', table_name='connection_pages')
    op.drop_table('connection_pages')
    op.drop_table('connections')
