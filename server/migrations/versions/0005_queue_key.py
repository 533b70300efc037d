"""tickets carry their queue key, and the queue is indexed by it (call-next and people-ahead as range scans)

The key is derived from the configuration's head starts, so the server re-derives it for every waiting
ticket at start-up (HallService.ensure_branches); rows written before this revision start at 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_key_us', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.drop_index('ix_ticket_branch_state')
        batch_op.create_index('ix_ticket_queue', ['branch_code', 'state', 'service_code', 'queue_key_us', 'id',
                                                  'target_counter', 'priority'], unique=False)
        batch_op.create_index('ix_ticket_target', ['branch_code', 'state', 'target_counter', 'queue_key_us'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_target')
        batch_op.drop_index('ix_ticket_queue')
        batch_op.create_index('ix_ticket_branch_state', ['branch_code', 'state'], unique=False)
        batch_op.drop_column('queue_key_us')
