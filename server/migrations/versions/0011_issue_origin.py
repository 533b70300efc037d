"""who took each anonymous ticket (``issue_origin``), for the limits on taking tickets

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'issue_origin',
        sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('device', sa.String(length=64), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('issued_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_index('ix_issue_origin_device', 'issue_origin', ['branch_code', 'device', 'issued_us'])
    op.create_index('ix_issue_origin_address', 'issue_origin', ['branch_code', 'address', 'issued_us'])
    op.create_index('ix_issue_origin_issued', 'issue_origin', ['issued_us'])


def downgrade() -> None:
    op.drop_index('ix_issue_origin_issued', table_name='issue_origin')
    op.drop_index('ix_issue_origin_address', table_name='issue_origin')
    op.drop_index('ix_issue_origin_device', table_name='issue_origin')
    op.drop_table('issue_origin')
