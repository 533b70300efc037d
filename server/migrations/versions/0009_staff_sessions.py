"""staff browser sessions kept in the database (``staff_session``), so that they can be ended

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'staff_session',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('credential', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id_hash'),
    )
    op.create_index(op.f('ix_staff_session_username'), 'staff_session', ['username'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_staff_session_username'), table_name='staff_session')
    op.drop_table('staff_session')
