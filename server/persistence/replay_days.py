"""What the what-if replay reads of one closed day of a branch: its tickets and its counters' events.

Two queries: the day's tickets (a range scan of the unique index on branch, service day and number, with the first
call from the ticket's events through ``ix_event_ticket``), and the counters' sign-ins, pauses, resumes and
sign-outs between the day's local midnights (``ix_event_branch_at``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, func, select

from server.domain.replay import SHIFT_EVENTS
from server.domain.tickets import EventKind, TicketState
from server.persistence.tables import TicketEvent, TicketRow

_TICKET = TicketRow.__table__
_EVENT = TicketEvent.__table__


@dataclass(frozen=True)
class TicketRecord:
    """One ticket of the day, as stored."""

    id: int
    service_code: str  # the service it was issued for
    priority: str
    state: TicketState
    issued_at: datetime
    first_called_at: datetime | None
    called_at: datetime | None  # the last call
    service_started_at: datetime | None
    finished_at: datetime | None
    no_show_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class CounterRecord:
    """A counter event of the day."""

    at: datetime
    counter: str
    kind: EventKind
    services: tuple[str, ...] | None


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def count_tickets(connection: Connection, branch_code: str, day: date) -> int:
    return int(connection.execute(select(func.count()).select_from(_TICKET).where(
        _TICKET.c.branch_code == branch_code, _TICKET.c.service_day == day)).scalar_one())


def day_tickets(connection: Connection, branch_code: str, day: date) -> list[TicketRecord]:
    """The branch's tickets of ``day``, in order of issue."""
    first_call = (select(func.min(_EVENT.c.at)).where(_EVENT.c.ticket_id == _TICKET.c.id,
                                                      _EVENT.c.kind == EventKind.CALLED.value)
                  .correlate(_TICKET).scalar_subquery())
    t = _TICKET.c
    query = (select(t.id, t.issued_service_code, t.priority, t.state, t.issued_at, first_call, t.called_at,
                    t.service_started_at, t.finished_at, t.no_show_at, t.cancelled_at)
             .where(t.branch_code == branch_code, t.service_day == day).order_by(t.issued_at, t.id))
    return [TicketRecord(row[0], row[1], row[2], TicketState(row[3]), row[4], _aware(row[5]), *row[6:])
            for row in connection.execute(query)]


def counter_events(connection: Connection, branch_code: str, start: datetime, end: datetime) -> list[CounterRecord]:
    """The counters' sign-ins (with the services chosen), pauses, resumes and sign-outs in [start, end)."""
    e = _EVENT.c
    query = (select(e.at, e.counter_number, e.kind, e.data)
             .where(e.branch_code == branch_code, e.at >= start, e.at < end,
                    e.kind.in_([k.value for k in SHIFT_EVENTS]), e.counter_number.is_not(None))
             .order_by(e.seq))
    records = []
    for at, counter, kind, data in connection.execute(query):
        services = None
        if data:
            listed = json.loads(data).get("services")
            if isinstance(listed, list):
                services = tuple(str(s) for s in listed)
        records.append(CounterRecord(at, counter, EventKind(kind), services))
    return records
