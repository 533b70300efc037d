"""Who is signed in at each counter, with today's services and pause state (one row per counter)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select
from sqlmodel import Session

from server.persistence.raw import RawStatement
from server.persistence.tables import CounterSession

_C = CounterSession.__table__.c
_SELECT_OPEN = RawStatement(select(_C.counter_number, _C.services).where(
    _C.branch_code == bindparam("b"), _C.staff_username.is_not(None)))


def for_branch(session: Session, branch_code: str) -> dict[str, CounterSession]:
    """Every counter's session row of the branch, by counter number."""
    return {s.counter_number: s for s in session.execute(
        select(CounterSession).where(CounterSession.branch_code == branch_code)).scalars()}


def get(session: Session, branch_code: str, counter_number: str) -> CounterSession | None:
    return session.get(CounterSession, (branch_code, counter_number))


def held_by(session: Session, branch_code: str, username: str | None) -> str | None:
    """The counter this staff member is signed in at, if any."""
    row = session.execute(select(CounterSession.counter_number).where(
        CounterSession.branch_code == branch_code, CounterSession.staff_username == username)).first()
    return None if row is None else str(row[0])


def open_counters(connection: Connection, branch_code: str) -> dict[str, str | None]:
    """The signed-in counters with their stored choice of services (``None``: all configured ones)."""
    cursor = _SELECT_OPEN.execute(connection, {"b": branch_code})
    try:
        return dict(cursor.fetchall())
    finally:
        cursor.close()


def ensure(session: Session, branch_code: str, counter_numbers: Iterable[str]) -> None:
    """A session row for every configured counter (a new counter starts closed)."""
    existing = set(session.execute(
        select(CounterSession.counter_number).where(CounterSession.branch_code == branch_code)).scalars())
    for number in counter_numbers:
        if number not in existing:
            session.add(CounterSession(branch_code=branch_code, counter_number=number))
