"""rosters (``roster_shift``): who works which counter with which services, per branch and local day

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-20 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'roster_shift',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('counter', sa.String(length=32), nullable=True),
        sa.Column('services', sa.String(length=2000), nullable=False),
        sa.Column('start_min', sa.Integer(), nullable=False),
        sa.Column('end_min', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_roster_shift_branch_day', 'roster_shift', ['branch_code', 'day'])


def downgrade() -> None:
    op.drop_index('ix_roster_shift_branch_day', table_name='roster_shift')
    op.drop_table('roster_shift')
