"""Reads that screens and audits make of a branch: its sequence number, recent calls, the event history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select
from sqlmodel import Session

from server.domain.tickets import EventKind, counter_taking_kinds
from server.persistence.raw import CursorSource, RawStatement
from server.persistence.tables import BranchSequence, QueueTally, TicketEvent

_CALLS = (EventKind.CALLED.value, EventKind.RECALLED.value)
_TAKING = tuple(kind.value for kind in counter_taking_kinds())


_SEQ = RawStatement(select(BranchSequence.seq).where(BranchSequence.branch_code == bindparam("b")))
_SEQS = RawStatement(select(BranchSequence.branch_code, BranchSequence.seq))


def branch_seq(connection: Connection | Session, branch_code: str) -> int:
    """The branch's last event sequence number (0 before its first command). On the driver's cursor: the live loop
    reads it for every branch every second, so a network's quiet branches must cost little here."""
    row = _SEQ.first(connection.connection() if isinstance(connection, Session) else connection, {"b": branch_code})
    return int(row[0]) if row is not None and row[0] is not None else 0


def branch_seqs(connection: CursorSource) -> dict[str, int]:
    """Every branch's last event sequence number (a branch with no command yet is absent: 0), in one statement: the
    live loop asks it every second, so that a network's branches cost one read a second, not one each."""
    return {str(code): int(seq or 0) for code, seq in _SEQS.rows(connection)}


def waiting_by_service(connection: Connection | Session, branch_code: str) -> dict[str, int]:
    """How many tickets wait per service, from the trigger-kept tally: a handful of rows however long the queue (a
    screen's counts must not cost a read of every waiting ticket)."""
    return {str(code): int(waiting) for code, waiting in connection.execute(
        select(QueueTally.service_code, QueueTally.waiting).where(QueueTally.branch_code == branch_code))
        if waiting}


def recent_calls(session: Session, branch_code: str, limit: int, since: datetime) -> list[TicketEvent]:
    """The branch's last calls and recalls at or after ``since`` (the start of the service day), newest first.

    Read back from the newest event along the ``(branch_code, seq)`` index and no further than the day's first event:
    filtered on ``at``, the planner read every event of the day by time and sorted them (18 ms of a display's join at
    10,000 tickets a day, growing with the day); now a working hall's last calls are a few dozen events back."""
    first = session.execute(select(TicketEvent.seq).where(
        TicketEvent.branch_code == branch_code, TicketEvent.at >= since).order_by(TicketEvent.at).limit(1)
    ).scalar_one_or_none()
    if first is None:
        return []
    return [event for event in session.execute(
        select(TicketEvent).where(TicketEvent.branch_code == branch_code, TicketEvent.kind.in_(_CALLS),
                                  TicketEvent.seq >= first)
        .order_by(TicketEvent.seq.desc()).limit(limit)).scalars() if event.at >= since]


def events_after(session: Session, branch_code: str, after_seq: int, limit: int) -> list[TicketEvent]:
    """The branch's event rows after a sequence number, oldest first."""
    return list(session.execute(select(TicketEvent).where(
        TicketEvent.branch_code == branch_code, TicketEvent.seq > after_seq).order_by(TicketEvent.seq).limit(limit)
    ).scalars())



def events_of_kinds(session: Session, branch_code: str, kinds: Sequence[str], since: datetime,
                    limit: int) -> list[TicketEvent]:
    """The branch's events of these kinds at or after ``since``, newest first."""
    return list(session.execute(
        select(TicketEvent).where(TicketEvent.branch_code == branch_code, TicketEvent.kind.in_(kinds),
                                  TicketEvent.at >= since)
        .order_by(TicketEvent.seq.desc()).limit(limit)).scalars())


def event_at(session: Session, branch_code: str, seq: int) -> TicketEvent | None:
    """The branch's event with this sequence number."""
    return session.execute(select(TicketEvent).where(
        TicketEvent.branch_code == branch_code, TicketEvent.seq == seq)).scalar_one_or_none()


def recalls_until(session: Session, branch_code: str, ticket_id: int | None, seq: int) -> int:
    """How often the ticket was recalled up to and including event ``seq``."""
    return int(session.execute(select(func.count()).select_from(TicketEvent).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.RECALLED.value,
        TicketEvent.seq <= seq, TicketEvent.branch_code == branch_code)).scalar_one())


def taken_up_since_no_show(connection: Connection, branch_code: str, counter_number: str,
                           ticket_id: int) -> str | None:
    """The number of another ticket this counter took up (called, resumed, …) after it marked ``ticket_id``
    no-show, if any. Ordered by the branch's sequence, which commands take in the order they commit."""
    marked = (select(func.max(TicketEvent.seq))
              .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == EventKind.NO_SHOW.value,
                     TicketEvent.branch_code == branch_code).scalar_subquery())
    return connection.execute(
        select(TicketEvent.ticket_number).where(
            TicketEvent.branch_code == branch_code, TicketEvent.seq > marked,
            TicketEvent.counter_number == counter_number, TicketEvent.kind.in_(_TAKING),
            TicketEvent.ticket_id != ticket_id)
        .order_by(TicketEvent.seq.desc()).limit(1)).scalar_one_or_none()
