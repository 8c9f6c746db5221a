"""feeds and entries

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 08:35:00.373075
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('config_url', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('last_poll', sa.DateTime(), nullable=True),
    sa.Column('last_success', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.String(length=20), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('warning', sa.Text(), nullable=True),
    sa.Column('consecutive_errors', sa.Integer(), nullable=False),
    sa.Column('next_due', sa.DateTime(), nullable=True),
    sa.Column('backoff_reason', sa.Text(), nullable=True),
    sa.Column('server_interval', sa.Integer(), nullable=True),
    sa.Column('redirect_target', sa.Text(), nullable=True),
    sa.Column('redirect_count', sa.Integer(), nullable=False),
    sa.Column('gone', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feeds')),
    sa.UniqueConstraint('name', name=op.f('uq_feeds_name'))
    )
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feeds_next_due'), ['next_due'], unique=False)

    op.create_table('entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('guid', sa.Text(), nullable=True),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('title_html', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('author', sa.Text(), nullable=True),
    sa.Column('published', sa.DateTime(), nullable=False),
    sa.Column('published_raw', sa.Text(), nullable=True),
    sa.Column('published_fallback', sa.Boolean(), nullable=False),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.Column('content_hash', sa.String(length=80), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_changed', sa.DateTime(), nullable=False),
    sa.Column('needs_extraction', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], name=op.f('fk_entries_feed_id_feeds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries')),
    sa.UniqueConstraint('feed_id', 'key', name=op.f('uq_entries_feed_id'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_needs_extraction'), ['needs_extraction'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_published'), ['published'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_published'))
        batch_op.drop_index(batch_op.f('ix_entries_needs_extraction'))

    op.drop_table('entries')
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feeds_next_due'))

    op.drop_table('feeds')
