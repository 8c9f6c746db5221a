"""merge_state: a counter bumped by every merge that writes, and the merging rules the stored events were made by

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 23:50:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('merge_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_state'))
    )
    # scheme 0: the stored events (if any) were made by merging rules older than this
    # revision; the first write re-merges them all from scratch.
    op.bulk_insert(table, [{'id': 1, 'generation': 0, 'scheme': 0}])


def downgrade() -> None:
    op.drop_table('merge_state')
