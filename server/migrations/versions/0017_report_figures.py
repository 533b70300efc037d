"""the reports' figures: each closed day per branch and grain (``report_figure``), summed per month
(``report_month``), and its rating reasons (``report_reason``); ``python -m server reports rebuild``
fills them for days closed before

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-15 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.persistence.tables import _report_columns

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COUNTS_0017 = ("issued", "called", "served", "no_shows", "cancelled", "expired", "transferred", "wait_count",
               "wait_sum_s", "within_target", "service_count", "service_sum_s", "rated", "satisfied")
"""The counts of this revision (later ones add columns of their own: 0018)."""


def upgrade() -> None:
    op.create_table('report_figure', *_report_columns(counts=COUNTS_0017))
    op.create_index('ix_report_figure_grain_day', 'report_figure', ['grain', 'branch_code', 'service_day'])
    op.create_table('report_month', *_report_columns(month=True, counts=COUNTS_0017))
    op.create_index('ix_report_month_grain', 'report_month', ['grain', 'branch_code', 'month'])
    op.create_table(
        'report_reason',
        sa.Column('branch_code', sa.String(length=32), nullable=False),
        sa.Column('service_day', sa.Date(), nullable=False),
        sa.Column('service_code', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('ratings', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('branch_code', 'service_day', 'service_code', 'reason'),
    )


def downgrade() -> None:
    op.drop_table('report_reason')
    op.drop_index('ix_report_month_grain', table_name='report_month')
    op.drop_table('report_month')
    op.drop_index('ix_report_figure_grain_day', table_name='report_figure')
    op.drop_table('report_figure')
