"""waiting tickets tallied per service by triggers; the queue of each priority class indexed on its own

The tally lets a people-ahead count read only the tickets behind a new one; the class index serves a
fast-lane or VIP counter's favoured head and favour window.

The triggers fire on every insert, delete and change of state, service or branch of a ticket, in the
same transaction as the write, so the tally cannot drift from the tickets whichever code path wrote them.
The tally starts from the tickets waiting at upgrade time. A later migration that has SQLite rebuild the
``ticket`` table (a batch "move and copy") drops the triggers with it and must create them again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENTER = """INSERT INTO queue_tally (branch_code, service_code, waiting)
    VALUES ({row}.branch_code, {row}.service_code, 1)
    ON CONFLICT (branch_code, service_code) DO UPDATE SET waiting = queue_tally.waiting + 1"""
_LEAVE = """UPDATE queue_tally SET waiting = waiting - 1
    WHERE branch_code = {row}.branch_code AND service_code = {row}.service_code"""
_COLUMNS = "state, service_code, branch_code"

_SQLITE = [
    f"""CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket WHEN NEW.state = 'waiting'
    BEGIN {_ENTER.format(row="NEW")}; END""",
    f"""CREATE TRIGGER ticket_tally_leave AFTER UPDATE OF {_COLUMNS} ON ticket WHEN OLD.state = 'waiting'
    BEGIN {_LEAVE.format(row="OLD")}; END""",
    f"""CREATE TRIGGER ticket_tally_enter AFTER UPDATE OF {_COLUMNS} ON ticket WHEN NEW.state = 'waiting'
    BEGIN {_ENTER.format(row="NEW")}; END""",
    f"""CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket WHEN OLD.state = 'waiting'
    BEGIN {_LEAVE.format(row="OLD")}; END""",
]

_POSTGRESQL = [
    f"""CREATE FUNCTION ticket_queue_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            IF OLD.state = 'waiting' THEN {_LEAVE.format(row="OLD")}; END IF;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            IF NEW.state = 'waiting' THEN {_ENTER.format(row="NEW")}; END IF;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER ticket_queue_tally AFTER INSERT OR DELETE OR UPDATE OF {_COLUMNS} ON ticket
    FOR EACH ROW EXECUTE FUNCTION ticket_queue_tally()""",
]


def upgrade() -> None:
    op.create_table(
        'queue_tally',
        sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('service_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('waiting', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('branch_code', 'service_code'),
    )
    op.execute("INSERT INTO queue_tally (branch_code, service_code, waiting)"
               " SELECT branch_code, service_code, COUNT(*) FROM ticket WHERE state = 'waiting'"
               " GROUP BY branch_code, service_code")
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_class', ['branch_code', 'state', 'service_code', 'priority', 'queue_key_us',
                                                  'id', 'target_counter'], unique=False)
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ticket_queue_tally ON ticket")
        op.execute("DROP FUNCTION ticket_queue_tally()")
    else:
        for name in ("insert", "leave", "enter", "delete"):
            op.execute(f"DROP TRIGGER ticket_tally_{name}")
    op.drop_table('queue_tally')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_class')
