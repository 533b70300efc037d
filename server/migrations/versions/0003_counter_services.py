"""counter sessions remember the services chosen at sign-in for today (NULL: all configured ones)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('counter_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('services', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('counter_session', schema=None) as batch_op:
        batch_op.drop_column('services')
