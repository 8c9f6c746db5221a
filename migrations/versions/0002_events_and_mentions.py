"""events and mentions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 08:37:05.517712
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('mod', sa.String(length=20), nullable=True),
    sa.Column('granularity', sa.String(length=10), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('span_class', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('updated', sa.DateTime(), nullable=False),
    sa.Column('date_changed', sa.DateTime(), nullable=True),
    sa.Column('sources_changed', sa.DateTime(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_events')),
    sa.UniqueConstraint('id', name=op.f('uq_events_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_span_start', ['span_class', 'start'], unique=False)
        batch_op.create_index('ix_events_order', ['start', 'end', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_revision'), ['revision'], unique=False)

    op.create_table('event_topics',
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('span_class', sa.Integer(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_event_topics_event_pk_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_pk', 'topic', name=op.f('pk_event_topics'))
    )
    with op.batch_alter_table('event_topics', schema=None) as batch_op:
        batch_op.create_index('ix_event_topics_topic_span_start', ['topic', 'span_class', 'start'], unique=False)

    op.create_table('mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('sentence_index', sa.Integer(), nullable=False),
    sa.Column('quote', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('expr_start', sa.Integer(), nullable=False),
    sa.Column('expr_end', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('mod', sa.String(length=20), nullable=True),
    sa.Column('granularity', sa.String(length=10), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('context_topics', sa.Boolean(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_mentions_entry_id_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_mentions_event_pk_events'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentions')),
    sa.UniqueConstraint('entry_id', 'fingerprint', name=op.f('uq_mentions_entry_id'))
    )
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mentions_event_pk'), ['event_pk'], unique=False)
        batch_op.create_index('ix_mentions_start_end', ['start', 'end'], unique=False)

    # Full-text search over summaries and quotes; rowid = events.pk, kept in step by the store.
    # SQLite's FTS5; PostgreSQL's events_fts (a tsvector with a GIN index) comes in 0007.
    if op.get_context().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE events_fts USING fts5(summary, quotes, tokenize = 'porter unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS events_fts")
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_start_end')
        batch_op.drop_index(batch_op.f('ix_mentions_event_pk'))

    op.drop_table('mentions')
    with op.batch_alter_table('event_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_event_topics_topic_span_start')

    op.drop_table('event_topics')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_updated'))
        batch_op.drop_index(batch_op.f('ix_events_revision'))
        batch_op.drop_index('ix_events_span_start')
        batch_op.drop_index('ix_events_order')

    op.drop_table('events')
