"""digests: the outbox (digests, digest_items) and what each audience was told (digest_marks)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:40:26.860367
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=64), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('sender', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('composed', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt', sa.DateTime(), nullable=True),
    sa.Column('next_attempt', sa.DateTime(), nullable=True),
    sa.Column('sending_since', sa.DateTime(), nullable=True),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('message_id', name=op.f('uq_digests_message_id'))
    )
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.create_index('ix_digests_audience_status', ['audience', 'status'], unique=False)

    op.create_table('digest_items',
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('previous_revision', sa.Integer(), nullable=True),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.Column('when_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], name=op.f('fk_digest_items_digest_id_digests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_digest_items_event_pk_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('digest_id', 'event_pk', name=op.f('pk_digest_items'))
    )
    with op.batch_alter_table('digest_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_items_event_pk'), ['event_pk'], unique=False)

    op.create_table('digest_marks',
    sa.Column('audience', sa.String(length=64), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.Column('when_text', sa.Text(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.Column('reported', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], name=op.f('fk_digest_marks_digest_id_digests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_digest_marks_event_pk_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('audience', 'event_pk', name=op.f('pk_digest_marks'))
    )
    with op.batch_alter_table('digest_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_marks_event_pk'), ['event_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('digest_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_marks_event_pk'))

    op.drop_table('digest_marks')
    with op.batch_alter_table('digest_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_items_event_pk'))

    op.drop_table('digest_items')
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.drop_index('ix_digests_audience_status')

    op.drop_table('digests')
