"""alerts: the apprise outbox (alert_channels, alert_messages, alert_items) and what each channel was told (alert_marks)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_channels',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt', sa.DateTime(), nullable=True),
    sa.Column('last_attempt', sa.DateTime(), nullable=True),
    sa.Column('last_sent', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_alert_channels'))
    )
    op.create_table('alert_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('composed', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt', sa.DateTime(), nullable=True),
    sa.Column('sending_since', sa.DateTime(), nullable=True),
    sa.Column('holder', sa.String(length=300), nullable=True),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['channel'], ['alert_channels.key'], name=op.f('fk_alert_messages_channel_alert_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_messages')),
    sa.UniqueConstraint('uid', name=op.f('uq_alert_messages_uid'))
    )
    with op.batch_alter_table('alert_messages', schema=None) as batch_op:
        batch_op.create_index('ix_alert_messages_channel_status', ['channel', 'status'], unique=False)

    op.create_table('alert_items',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('outlets', sa.Integer(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.Column('when_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_alert_items_event_pk_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['alert_messages.id'], name=op.f('fk_alert_items_message_id_alert_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'event_pk', name=op.f('pk_alert_items'))
    )
    with op.batch_alter_table('alert_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_items_event_pk'), ['event_pk'], unique=False)

    op.create_table('alert_marks',
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('event_pk', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('told', sa.Integer(), nullable=True),
    sa.Column('outlets', sa.Integer(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.Column('when_text', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('reported', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['channel'], ['alert_channels.key'], name=op.f('fk_alert_marks_channel_alert_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_pk'], ['events.pk'], name=op.f('fk_alert_marks_event_pk_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['alert_messages.id'], name=op.f('fk_alert_marks_message_id_alert_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('channel', 'event_pk', name=op.f('pk_alert_marks'))
    )
    with op.batch_alter_table('alert_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_marks_event_pk'), ['event_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_marks_event_pk'))

    op.drop_table('alert_marks')
    with op.batch_alter_table('alert_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_items_event_pk'))

    op.drop_table('alert_items')
    with op.batch_alter_table('alert_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_messages_channel_status')

    op.drop_table('alert_messages')
    op.drop_table('alert_channels')
