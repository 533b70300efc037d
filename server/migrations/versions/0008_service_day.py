"""the service day: tickets left over at its end expire (``ticket.expired_at``), each ended day is recorded
once per branch (``day_close``) with its figures per service (``day_summary``); issue stopped by hand
(``issue_stop``)

``expired_at`` is added and dropped with plain ALTER TABLE (no SQLite table rebuild), so the tally triggers of 0006
stay.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('ticket', sa.Column('expired_at', UTCDateTime(), nullable=True))
    op.create_table(
        'day_close',
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('service_day', sa.Date(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=False),
        sa.Column('expired', sa.Integer(), nullable=False),
        sa.Column('signed_out', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('branch_code', 'service_day'),
    )
    op.create_table(
        'day_summary',
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('service_day', sa.Date(), nullable=False),
        sa.Column('service_code', sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in (
            'issued', 'served', 'no_shows', 'cancelled', 'expired', 'transferred', 'called')),
        sa.Column('wait_mean_s', sa.Float(), nullable=True),
        sa.Column('wait_p90_s', sa.Float(), nullable=True),
        sa.Column('within_target', sa.Integer(), nullable=False),
        sa.Column('service_mean_s', sa.Float(), nullable=True),
        sa.Column('rated', sa.Integer(), nullable=False),
        sa.Column('satisfied', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('branch_code', 'service_day', 'service_code'),
    )


    op.create_table(
        'issue_stop',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('service_code', sa.String(length=32), nullable=True),
        sa.Column('starts_at', UTCDateTime(), nullable=False),
        sa.Column('ends_at', UTCDateTime(), nullable=True),
        sa.Column('reason_code', sa.String(length=32), nullable=False),
        sa.Column('reason_zh', sa.String(length=100), nullable=False),
        sa.Column('reason_en', sa.String(length=100), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('resumed_at', UTCDateTime(), nullable=True),
        sa.Column('resumed_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_issue_stop_branch_open', 'issue_stop', ['branch_code', 'resumed_at', 'ends_at'])


def downgrade() -> None:
    op.drop_index('ix_issue_stop_branch_open', table_name='issue_stop')
    op.drop_table('issue_stop')
    op.drop_table('day_summary')
    op.drop_table('day_close')
    op.drop_column('ticket', 'expired_at')  # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): no rebuild, triggers stay
