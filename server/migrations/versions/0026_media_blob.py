"""media_blob: the wall displays' media files in the database, for ``[media] store = "database"``

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import UTCDateTime

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a new table: additive, the previous release's processes never read it (docs/deploy.md)
    op.create_table(
        'media_blob',
        sa.Column('stored_name', sa.String(length=120), nullable=False),
        sa.Column('part', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('written_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('stored_name', 'part'),
    )


def downgrade() -> None:
    op.drop_table('media_blob')
