"""feed leases: which daemon is polling a feed and until when (several daemons, one database)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
