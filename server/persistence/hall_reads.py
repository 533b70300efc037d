"""Reads that screens and audits make of a branch: its sequence number, recent calls, the event history."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlmodel import Session

from server.domain.tickets import EventKind
from server.persistence.tables import BranchSequence, TicketEvent

_CALLS = (EventKind.CALLED.value, EventKind.RECALLED.value)


def branch_seq(connection: Connection | Session, branch_code: str) -> int:
    """The branch's last event sequence number (0 before its first command)."""
    return connection.execute(select(BranchSequence.seq).where(BranchSequence.branch_code == branch_code)
                              ).scalar_one_or_none() or 0


def recent_calls(session: Session, branch_code: str, limit: int) -> list[TicketEvent]:
    """The branch's last calls and recalls, newest first."""
    return list(session.execute(
        select(TicketEvent).where(TicketEvent.branch_code == branch_code, TicketEvent.kind.in_(_CALLS))
        .order_by(TicketEvent.seq.desc()).limit(limit)).scalars())


def events_after(session: Session, branch_code: str, after_seq: int, limit: int) -> list[TicketEvent]:
    """The branch's event rows after a sequence number, oldest first."""
    return list(session.execute(select(TicketEvent).where(
        TicketEvent.branch_code == branch_code, TicketEvent.seq > after_seq).order_by(TicketEvent.seq).limit(limit)
    ).scalars())

