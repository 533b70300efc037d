"""Reads that screens and audits make of a branch: its sequence number, recent calls, the event history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlmodel import Session

from server.domain.tickets import EventKind
from server.persistence.tables import BranchSequence, TicketEvent

_CALLS = (EventKind.CALLED.value, EventKind.RECALLED.value)


def branch_seq(connection: Connection | Session, branch_code: str) -> int:
    """The branch's last event sequence number (0 before its first command)."""
    return connection.execute(select(BranchSequence.seq).where(BranchSequence.branch_code == branch_code)
                              ).scalar_one_or_none() or 0


def recent_calls(session: Session, branch_code: str, limit: int, since: datetime) -> list[TicketEvent]:
    """The branch's last calls and recalls at or after ``since`` (the start of the service day), newest first."""
    return list(session.execute(
        select(TicketEvent).where(TicketEvent.branch_code == branch_code, TicketEvent.kind.in_(_CALLS),
                                  TicketEvent.at >= since)
        .order_by(TicketEvent.seq.desc()).limit(limit)).scalars())


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
