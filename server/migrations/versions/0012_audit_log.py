"""the audit log (``audit_entry``), append-only: triggers refuse UPDATE and DELETE

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'audit_entry',
        sa.Column('id', _ID, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('branch_code', sa.String(length=32), nullable=True),
        sa.Column('target', sa.String(length=200), nullable=True),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=True),
        sa.Column('device', sa.String(length=64), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_entry_at', 'audit_entry', ['at'])
    op.create_index('ix_audit_entry_branch_at', 'audit_entry', ['branch_code', 'at'])
    op.create_index('ix_audit_entry_user_at', 'audit_entry', ['username', 'at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only';
            END $$""")
        op.execute("""CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
                      FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_entry_append_only ON audit_entry')
        op.execute('DROP FUNCTION audit_entry_append_only()')
    else:
        op.execute('DROP TRIGGER audit_entry_no_update')
        op.execute('DROP TRIGGER audit_entry_no_delete')
    op.drop_index('ix_audit_entry_user_at', table_name='audit_entry')
    op.drop_index('ix_audit_entry_branch_at', table_name='audit_entry')
    op.drop_index('ix_audit_entry_at', table_name='audit_entry')
    op.drop_table('audit_entry')
