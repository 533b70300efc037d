"""The branch's event log: its sequence number (locked by each command on PostgreSQL) and the appended events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from server.persistence.raw import RawStatement
from server.persistence.tables import BranchSequence, TicketEvent

_SEQUENCE = BranchSequence.__table__
_SELECT_SEQUENCE = select(_SEQUENCE.c.seq).where(_SEQUENCE.c.branch_code == bindparam("b"))
_LOCK_SEQUENCE = RawStatement(_SELECT_SEQUENCE.with_for_update())
_READ_SEQUENCE = RawStatement(_SELECT_SEQUENCE)
_INSERT_SEQUENCE = RawStatement(insert(_SEQUENCE), ["branch_code", "seq"])
_UPDATE_SEQUENCE = RawStatement(
    update(_SEQUENCE).where(_SEQUENCE.c.branch_code == bindparam("b")).values(seq=bindparam("s")))
_EVENT_COLUMNS = [c.name for c in TicketEvent.__table__.columns if c.name != "id"]
_INSERT_EVENT = RawStatement(insert(TicketEvent.__table__), _EVENT_COLUMNS)


def current_seq(connection: Connection, branch_code: str, *, lock: bool) -> int:
    """The branch's sequence number (0 and a new row for a new branch); ``lock``: hold its row until the commit
    (``SELECT … FOR UPDATE``), which serialises the branch's commands across server processes."""
    row = (_LOCK_SEQUENCE if lock else _READ_SEQUENCE).first(connection, {"b": branch_code})
    if row is None:
        _INSERT_SEQUENCE.run(connection, {"branch_code": branch_code, "seq": 0})
        return 0
    return int(row[0])


def set_seq(connection: Connection, branch_code: str, seq: int) -> None:
    _UPDATE_SEQUENCE.run(connection, {"b": branch_code, "s": seq})


def append(connection: Connection, row: dict[str, Any]) -> None:
    """One event row (every column but the id)."""
    _INSERT_EVENT.run(connection, row)


def ping(connection: Connection) -> None:
    """A cheap query that fails when the database cannot answer (the health check)."""
    connection.execute(select(BranchSequence.seq).limit(1)).all()
