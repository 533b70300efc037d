"""follow-ups become cases: a source (a rating or a recorded complaint), category, the customer's words, a due
time, an outcome, and an append-only thread of notes (``follow_up_note``)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 15:00:00.000000
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ANSWER_HOURS = 24  # the default [follow_ups] answer_hours: what existing open follow-ups are due by


def upgrade() -> None:
    with op.batch_alter_table('follow_up') as batch:
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='rating'))
        batch.add_column(sa.Column('category', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('customer_words', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('counter_number', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('created_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('due_at', UTCDateTime(), nullable=True))
        batch.alter_column('ticket_id', existing_type=ID, nullable=True)
        batch.alter_column('rating_id', existing_type=ID, nullable=True)
        batch.create_index('ix_follow_up_branch_created', ['branch_code', 'created_at'])
    follow_up = sa.table('follow_up', sa.column('id', ID), sa.column('created_at', UTCDateTime()),
                         sa.column('due_at', UTCDateTime()))
    connection = op.get_bind()
    for row_id, created_at in connection.execute(sa.select(follow_up.c.id, follow_up.c.created_at)).all():
        connection.execute(follow_up.update().where(follow_up.c.id == row_id)
                           .values(due_at=created_at + timedelta(hours=ANSWER_HOURS)))
    op.create_table(
        'follow_up_note',
        sa.Column('id', ID, nullable=False),
        sa.Column('follow_up_id', ID, nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('text', sa.String(length=500), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_follow_up_note_case', 'follow_up_note', ['follow_up_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_follow_up_note_case', table_name='follow_up_note')
    op.drop_table('follow_up_note')
    op.execute("DELETE FROM customer_contact WHERE follow_up_id IN (SELECT id FROM follow_up WHERE rating_id IS NULL)")
    op.execute("DELETE FROM follow_up WHERE rating_id IS NULL")
    with op.batch_alter_table('follow_up') as batch:
        batch.drop_index('ix_follow_up_branch_created')
        batch.alter_column('rating_id', existing_type=ID, nullable=False)
        batch.alter_column('ticket_id', existing_type=ID, nullable=False)
        for name in ('due_at', 'outcome', 'created_by', 'counter_number', 'customer_words', 'category', 'source'):
            batch.drop_column(name)
