"""trusted devices: kiosks, displays and rating pads paired by a manager (``device``, the credential kept only as
its SHA-256), and how often each ticket was printed on a kiosk's network printer (``ticket_print``)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'device',
        sa.Column('id', ID, nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('target', sa.String(length=32), nullable=True),
        sa.Column('name', sa.String(length=40), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('pairing_code', sa.String(length=8), nullable=True),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('paired_at', UTCDateTime(), nullable=True),
        sa.Column('paired_by', sa.String(length=64), nullable=True),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_by', sa.String(length=64), nullable=True),
        sa.Column('last_seen_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('secret_hash'),
    )
    op.create_index('ix_device_branch_state', 'device', ['branch_code', 'state'])
    op.create_table(
        'ticket_print',
        sa.Column('ticket_id', ID, nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('prints', sa.Integer(), nullable=False),
        sa.Column('staff_prints', sa.Integer(), nullable=False),
        sa.Column('reserved_until', UTCDateTime(), nullable=True),
        sa.Column('reserved_by', sa.String(length=64), nullable=True),
        sa.Column('last_printed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.PrimaryKeyConstraint('ticket_id'),
    )


def downgrade() -> None:
    op.drop_table('ticket_print')
    op.drop_index('ix_device_branch_state', table_name='device')
    op.drop_table('device')
