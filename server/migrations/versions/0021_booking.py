"""online appointments (``booking``): a seat in a slot of a service, unique per (branch, service, slot, seat) so that
two bookings of the last seat cannot both commit; ``customer_contact.booking_id`` ties the booking's phone number to
it under the privacy rules

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'booking',
        sa.Column('id', ID, nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('service_code', sa.String(length=32), nullable=False),
        sa.Column('slot_start', UTCDateTime(), nullable=False),
        sa.Column('slot_end', UTCDateTime(), nullable=False),
        sa.Column('service_day', sa.Date(), nullable=False),
        sa.Column('seat', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('booked_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('changed_at', UTCDateTime(), nullable=True),
        sa.Column('cancelled_at', UTCDateTime(), nullable=True),
        sa.Column('ticket_id', ID, nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('branch_code', 'service_code', 'slot_start', 'seat', name='uq_booking_seat'),
        sa.UniqueConstraint('code', name='uq_booking_code'),
    )
    op.create_index('ix_booking_slot', 'booking', ['branch_code', 'slot_start'])
    op.add_column('customer_contact', sa.Column('booking_id', ID, nullable=True))
    op.create_index('ix_customer_contact_booking_id', 'customer_contact', ['booking_id'])


def downgrade() -> None:
    op.drop_index('ix_customer_contact_booking_id', table_name='customer_contact')
    with op.batch_alter_table('customer_contact') as batch:
        batch.drop_column('booking_id')
    op.drop_index('ix_booking_slot', table_name='booking')
    op.drop_table('booking')
