"""database_info: the database's own stable id (a uuid4), for export ids such as the Atom feed's

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import uuid

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('database_info',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_database_info'))
    )
    # Drawn here, once: every later export of this database carries ids derived from it.
    op.bulk_insert(table, [{'id': str(uuid.uuid4())}])


def downgrade() -> None:
    op.drop_table('database_info')
