"""ticket.not_before: an appointment checked in before its slot is not called until the slot starts

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-29 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable, no default: adding it is a catalogue change on SQLite and PostgreSQL, not a table rewrite
    op.add_column('ticket', sa.Column('not_before', UTCDateTime(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch rebuild of the table would lose its queue-tally triggers
    op.drop_column('ticket', 'not_before')
