"""ticket.remote, arrived_at, held_since: the virtual queue (a ticket taken on a phone, checked in at the hall)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import AWAITING_ROWS, UTCDateTime

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # additive: the previous release's inserts leave remote false (a walk-in ticket), and it never reads the rest
    op.add_column('ticket', sa.Column('remote', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('ticket', sa.Column('arrived_at', UTCDateTime(), nullable=True))
    op.add_column('ticket', sa.Column('held_since', UTCDateTime(), nullable=True))
    op.create_index('ix_ticket_awaiting', 'ticket', ['branch_code', 'service_code', 'queue_key_us'],
                    sqlite_where=sa.text(AWAITING_ROWS), postgresql_where=sa.text(AWAITING_ROWS))


def downgrade() -> None:
    # plain DROP COLUMNs (SQLite 3.35+): a batch rebuild of the table would lose its queue-tally triggers
    op.drop_index('ix_ticket_awaiting', table_name='ticket')
    op.drop_column('ticket', 'held_since')
    op.drop_column('ticket', 'arrived_at')
    op.drop_column('ticket', 'remote')
