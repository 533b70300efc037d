"""row ids, the columns that refer to them and branch sequence numbers are 64-bit on PostgreSQL

A 32-bit id ends at 2,147,483,647. One PostgreSQL serving hundreds of branches writes millions of ticket
events a day and would reach it within a few years; the ids of tickets, events, ratings, follow-ups, media
and notices, their foreign keys and their sequences become BIGINT, and so do the branch sequence numbers
(``branch_sequence.seq``, ``ticket_event.seq``), which requests name too: PostgreSQL refuses to compare a
32-bit column with a larger number. On SQLite nothing changes: an
``INTEGER PRIMARY KEY`` is the 64-bit rowid and every integer column holds 64 bits, so the ``ticket`` table
is not rebuilt (which would drop the tally triggers of 0006).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    'branch_sequence': ['seq'],
    'ticket': ['id'],
    'ticket_event': ['id', 'ticket_id', 'seq'],
    'rating': ['id', 'ticket_id'],
    'follow_up': ['id', 'ticket_id', 'rating_id'],
    'media_item': ['id'],
    'notice': ['id'],
}


def _retype(type_name: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, columns in _COLUMNS.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} TYPE {type_name}" for column in columns))
        if 'id' not in columns:
            continue
        sequence = bind.execute(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}).scalar()
        if sequence:
            op.execute(f"ALTER SEQUENCE {sequence} AS {type_name}")


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")  # fails, and changes nothing, once an id has passed 2,147,483,647
