"""report_booking: a closed day's bookings per service (booked, checked in, late walk-ins, cancelled, no-shows);
``python -m server reports rebuild`` fills it for days closed before

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-31 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS_0025 = ("booked", "checked_in", "late_walk_ins", "booking_cancelled", "booking_no_shows")


def upgrade() -> None:
    # a new table only: the release before does not know it and keeps working on this schema
    op.create_table(
        'report_booking',
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('service_day', sa.Date(), nullable=False),
        sa.Column('service_code', sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default='0') for name in COUNTS_0025),
        sa.PrimaryKeyConstraint('branch_code', 'service_day', 'service_code'),
    )


def downgrade() -> None:
    op.drop_table('report_booking')
