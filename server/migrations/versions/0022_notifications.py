"""notifications: outgoing webhooks, the delivery outbox with its attempts, the event-log cursor, a contact's language

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-22 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('customer_contact') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    op.create_table(
        'webhook',
        sa.Column('id', ID, nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('shown', sa.String(length=16), nullable=False),
        sa.Column('events', sa.String(length=500), nullable=False),
        sa.Column('branches', sa.String(length=2000), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'notification_delivery',
        sa.Column('id', ID, nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('dedupe', sa.String(length=120), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('webhook_id', ID, nullable=True),
        sa.Column('contact_id', ID, nullable=True),
        sa.Column('ticket_id', ID, nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('lease_until', UTCDateTime(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe', name='uq_notification_delivery_dedupe'),
    )
    op.create_index('ix_notification_delivery_due', 'notification_delivery', ['state', 'next_attempt_at'])
    op.create_index('ix_notification_delivery_webhook', 'notification_delivery', ['webhook_id', 'id'])
    op.create_index('ix_notification_delivery_ticket', 'notification_delivery', ['ticket_id'])
    op.create_table(
        'notification_attempt',
        sa.Column('id', ID, nullable=False),
        sa.Column('delivery_id', ID, nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notification_attempt_delivery', 'notification_attempt', ['delivery_id'])
    op.create_table(
        'notification_cursor',
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('seq', ID, nullable=False),
        sa.PrimaryKeyConstraint('branch_code'),
    )


def downgrade() -> None:
    op.drop_table('notification_cursor')
    op.drop_index('ix_notification_attempt_delivery', table_name='notification_attempt')
    op.drop_table('notification_attempt')
    op.drop_index('ix_notification_delivery_ticket', table_name='notification_delivery')
    op.drop_index('ix_notification_delivery_webhook', table_name='notification_delivery')
    op.drop_index('ix_notification_delivery_due', table_name='notification_delivery')
    op.drop_table('notification_delivery')
    op.drop_table('webhook')
    with op.batch_alter_table('customer_contact') as batch:
        batch.drop_column('language')
