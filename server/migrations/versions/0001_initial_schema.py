"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 20:02:32.833595
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.persistence.tables

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('branch_sequence',
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('branch_code')
    )
    op.create_table('counter_session',
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('counter_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('staff_username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('signed_in_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('pause_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('paused_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('branch_code', 'counter_number')
    )
    op.create_table('idempotency_record',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_created_at'), ['created_at'], unique=False)

    op.create_table('number_sequence',
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('service_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('branch_code', 'service_code', 'service_day')
    )
    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('service_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('issued_service_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('issued_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.Column('queued_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.Column('called_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.Column('service_started_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.Column('finished_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.Column('no_show_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', server.persistence.tables.UTCDateTime(), nullable=True),
    sa.Column('counter_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('staff_username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('target_counter', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('transferred', sa.Boolean(), nullable=False),
    sa.Column('transfer_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('recall_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('branch_code', 'service_day', 'number', name='uq_ticket_number_per_day'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_branch_state', ['branch_code', 'state'], unique=False)

    op.create_table('ticket_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('ticket_number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('service_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('counter_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('staff_username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('data', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('branch_code', 'seq', name='uq_event_branch_seq')
    )
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.create_index('ix_event_branch_at', ['branch_code', 'at'], unique=False)
        batch_op.create_index('ix_event_ticket', ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_ticket')
        batch_op.drop_index('ix_event_branch_at')

    op.drop_table('ticket_event')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_branch_state')

    op.drop_table('ticket')
    op.drop_table('number_sequence')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_created_at'))

    op.drop_table('idempotency_record')
    op.drop_table('counter_session')
    op.drop_table('branch_sequence')
