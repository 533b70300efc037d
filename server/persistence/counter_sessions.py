"""Counter sessions in the database (one row per counter), as domain :class:`CounterSession` objects.

Today's services are stored as a JSON list in the configured order (NULL: all configured ones).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from server.domain.counter_session import CounterSession
from server.persistence.raw import RawStatement
from server.persistence.tables import CounterSessionRow

_TABLE = CounterSessionRow.__table__
_C = _TABLE.c
_FIELDS = tuple(c.name for c in _TABLE.columns)
_KEY = ("branch_code", "counter_number")
_SELECT = select(*(_C[name] for name in _FIELDS))
_SELECT_OPEN = RawStatement(select(_C.counter_number, _C.services).where(
    _C.branch_code == bindparam("b"), _C.staff_username.is_not(None)))
# read by every counter command (its session) and by the ticket commands at a counter: compiled once
_GET = RawStatement(_SELECT.where(_C.branch_code == bindparam("b"), _C.counter_number == bindparam("c")))
_UPDATE = update(_TABLE).where(_C.branch_code == bindparam("key_branch"), _C.counter_number == bindparam("key_counter"))


def _services(stored: str | None) -> tuple[str, ...] | None:
    return tuple(json.loads(stored)) if stored else None


def _from_row(row: Any) -> CounterSession:
    values = dict(zip(_FIELDS, row, strict=True))
    values["paused"] = bool(values["paused"])
    values["services"] = _services(values["services"])
    return CounterSession(**values)


def for_branch(connection: Connection, branch_code: str) -> dict[str, CounterSession]:
    """Every counter's session of the branch, by counter number."""
    sessions = (_from_row(row) for row in connection.execute(_SELECT.where(_C.branch_code == branch_code)))
    return {s.counter_number: s for s in sessions}


def get(connection: Connection, branch_code: str, counter_number: str) -> CounterSession | None:
    row = _GET.one(connection, {"b": branch_code, "c": counter_number})
    return None if row is None else _from_row(row)


def held_by(connection: Connection, branch_code: str, username: str | None) -> str | None:
    """The counter this staff member is signed in at, if any."""
    row = connection.execute(select(_C.counter_number).where(
        _C.branch_code == branch_code, _C.staff_username == username)).first()
    return None if row is None else str(row[0])


def open_counters(connection: Connection, branch_code: str) -> dict[str, tuple[str, ...] | None]:
    """The signed-in counters with their choice of services (``None``: all configured ones)."""
    cursor = _SELECT_OPEN.execute(connection, {"b": branch_code})
    try:
        return {number: _services(stored) for number, stored in cursor.fetchall()}
    finally:
        cursor.close()


def save(connection: Connection, session: CounterSession) -> None:
    """Write a session back (a counter added to the configuration since start-up gets its row now)."""
    values = {name: getattr(session, name) for name in _FIELDS}
    values["services"] = json.dumps(list(session.services)) if session.services else None
    changing = {name: value for name, value in values.items() if name not in _KEY}
    result = connection.execute(_UPDATE.values(**changing), {"key_branch": session.branch_code,
                                                              "key_counter": session.counter_number})
    if result.rowcount == 0:
        connection.execute(insert(_TABLE).values(**values))


def ensure(connection: Connection, branch_code: str, counter_numbers: Iterable[str]) -> None:
    """A session row for every configured counter (a new counter starts closed)."""
    existing = set(connection.execute(select(_C.counter_number).where(_C.branch_code == branch_code)).scalars())
    for number in counter_numbers:
        if number not in existing:
            connection.execute(insert(_TABLE).values(branch_code=branch_code, counter_number=number, paused=False))
