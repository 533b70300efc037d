"""personal data given with consent (``customer_contact``): a phone number and optional name for one purpose (a
call-back about a follow-up today), removed after its retention

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_PARTIAL = (
    ('ix_ticket_transfer_note', 'ticket', ['branch_code', 'issued_at'], 'transfer_note IS NOT NULL'),
    ('ix_rating_comment', 'rating', ['branch_code', 'created_at'], 'comment IS NOT NULL'),
    ('ix_event_free_text', 'ticket_event', ['branch_code', 'at'],
     "reason IS NOT NULL AND kind IN ('transferred', 'follow_up_resolved')"),
)


def upgrade() -> None:
    op.create_table(
        'customer_contact',
        sa.Column('id', ID, nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('phone', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=True),
        sa.Column('ticket_id', ID, nullable=True),
        sa.Column('rating_id', ID, nullable=True),
        sa.Column('follow_up_id', ID, nullable=True),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('consent_at', UTCDateTime(), nullable=False),
        sa.Column('purge_after', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['rating_id'], ['rating.id']),
        sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_customer_contact_phone', 'customer_contact', ['branch_code', 'phone'])
    op.create_index('ix_customer_contact_purge', 'customer_contact', ['purge_after'])
    op.create_index('ix_customer_contact_follow_up', 'customer_contact', ['follow_up_id'])
    # partial indexes over the few rows with a note, so the hourly job that blanks old notes reads only those
    for name, table, columns, where in _PARTIAL:
        op.create_index(name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, table, _columns, _where in _PARTIAL:
        op.drop_index(name, table_name=table)
    op.drop_index('ix_customer_contact_follow_up', table_name='customer_contact')
    op.drop_index('ix_customer_contact_purge', table_name='customer_contact')
    op.drop_index('ix_customer_contact_phone', table_name='customer_contact')
    op.drop_table('customer_contact')
