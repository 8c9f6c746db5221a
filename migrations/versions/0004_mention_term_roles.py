"""mentions: focus, keywords and names, the term roles merging weighs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 09:30:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Without them a re-merge of stored mentions weighed terms differently from the first merge.
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('focus', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('keywords', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('names', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_column('names')
        batch_op.drop_column('keywords')
        batch_op.drop_column('focus')
