"""the reports' figures also count walk-outs apart from staff cancellations, and the accuracy of the estimates
given at issue; ``python -m server reports rebuild`` fills them for days closed before

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-20 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS_0018 = ("walked_out", "estimated", "within_range", "late_over_5min", "abs_error_sum_s")
TABLES = ("report_figure", "report_month")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for name in COUNTS_0018:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for name in reversed(COUNTS_0018):
                batch.drop_column(name)
