"""Tickets in the database, as domain :class:`~server.domain.ticket.Ticket` objects.

Commands load a ticket, let it change itself and save it, all on the command's own connection and
transaction. Loading goes through SQLAlchemy Core (its type processing turns stored text and naive UTC
back into dates and aware datetimes); the inserts and updates of the hot path are compiled once
(:class:`~server.persistence.raw.RawStatement`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from server.domain.errors import NotFound
from server.domain.ticket import Ticket
from server.domain.tickets import PriorityClass, TicketState, require_token
from server.persistence.raw import RawStatement, constants
from server.persistence.tables import AWAITING_ROWS, CustomerContact, TicketRow

_TABLE = TicketRow.__table__
_C = _TABLE.c
FIELDS: tuple[str, ...] = tuple(c.name for c in _TABLE.columns)
_WRITTEN = [name for name in FIELDS if name != "id"]
_INSERT = RawStatement(insert(_TABLE).returning(_C.id), _WRITTEN)
_CHANGING = [name for name in _WRITTEN if name != "token"]
_UPDATE = RawStatement(update(_TABLE).where(_C.id == bindparam("ticket_id"))
                       .values({name: bindparam(f"new_{name}") for name in _CHANGING}))
_SELECT = select(*(_C[name] for name in FIELDS))
HOLDING_COUNTER = tuple(s.value for s in TicketState if s.holds_counter)
"""The states in which a ticket occupies its counter (called, serving)."""
# every staff command reads its ticket and its counter's: compiled once, like the writes
_GET = RawStatement(_SELECT.where(_C.id == bindparam("ticket_id")))
_AT_COUNTER = RawStatement(_SELECT.where(_C.branch_code == bindparam("b"), _C.counter_number == bindparam("c"),
                                         _C.state.in_(constants(HOLDING_COUNTER))))


def from_row(row: Any) -> Ticket:
    """A domain ticket from a row of :data:`FIELDS` (as Core returns them)."""
    values = dict(zip(FIELDS, row, strict=True))
    values["state"] = TicketState(values["state"])
    values["priority"] = PriorityClass(values["priority"])
    values["transferred"] = bool(values["transferred"])
    values["remote"] = bool(values["remote"])
    return Ticket(**values)


def _values(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _WRITTEN}
    values["state"] = ticket.state.value
    values["priority"] = ticket.priority.value
    return values


def add(connection: Connection, ticket: Ticket) -> Ticket:
    """Insert a new ticket; it gets its id."""
    row = _INSERT.first(connection, _values(ticket))
    assert row is not None
    ticket.id = int(row[0])
    return ticket


def save(connection: Connection, ticket: Ticket) -> None:
    """Write a changed ticket back (its number, token and issue facts never change)."""
    values = _values(ticket)
    _UPDATE.run(connection, {"ticket_id": ticket.id, **{f"new_{name}": values[name] for name in _CHANGING}})


def _fetch(connection: Connection, *conditions: Any, order: Sequence[Any] = ()) -> list[Ticket]:
    return [from_row(row) for row in connection.execute(_SELECT.where(*conditions).order_by(*order))]


def get(connection: Connection, branch_code: str, ticket_id: int) -> Ticket:
    """A ticket of this branch by id, or 404 ``unknown_ticket``."""
    row = _GET.one(connection, {"ticket_id": ticket_id})
    ticket = None if row is None else from_row(row)
    if ticket is None or ticket.branch_code != branch_code:
        raise NotFound(f"no ticket {ticket_id} in branch {branch_code}", code="unknown_ticket")
    return ticket


def by_token(connection: Connection, token: str) -> Ticket:
    """A customer's ticket by its private token, or 404 ``unknown_ticket`` (a malformed token is never looked up)."""
    found = _fetch(connection, _C.token == require_token(token))
    if not found:
        raise NotFound("no such ticket", code="unknown_ticket")
    return found[0]


def locate(connection: Connection, token: str) -> tuple[str, int]:
    """The branch and id of the ticket with this token, or 404 ``unknown_ticket``."""
    row = connection.execute(select(_C.branch_code, _C.id).where(_C.token == require_token(token))).first()
    if row is None:
        raise NotFound("no such ticket", code="unknown_ticket")
    return str(row[0]), int(row[1])


def at_counter(connection: Connection, branch_code: str, counter_number: str) -> Ticket | None:
    """The ticket a counter holds now (called or serving there), if any."""
    row = _AT_COUNTER.one(connection, {"b": branch_code, "c": counter_number})
    return None if row is None else from_row(row)


def last_finished_at(connection: Connection, branch_code: str, counter_number: str, since: datetime) -> Ticket | None:
    """The ticket a counter finished last, if at or after ``since``."""
    found = connection.execute(_SELECT.where(
        _C.branch_code == branch_code, _C.counter_number == counter_number, _C.state == TicketState.DONE.value,
        _C.finished_at >= since).order_by(_C.finished_at.desc(), _C.id.desc()).limit(1)).first()
    return None if found is None else from_row(found)


def states_of(connection: Connection, ticket_ids: Iterable[int]) -> dict[int, TicketState]:
    """The current state of each of these tickets."""
    ids = sorted({i for i in ticket_ids if i is not None})
    if not ids:
        return {}
    return {int(i): TicketState(state) for i, state in connection.execute(
        select(_C.id, _C.state).where(_C.id.in_(ids)))}


def in_states(connection: Connection, branch_code: str, states: Iterable[TicketState],
              counter_number: str | None = None) -> list[Ticket]:
    """The branch's tickets in these states (at one counter, if given), oldest in the queue first."""
    conditions = [_C.branch_code == branch_code, _C.state.in_([s.value for s in states])]
    if counter_number is not None:
        conditions.append(_C.counter_number == counter_number)
    return _fetch(connection, *conditions, order=(_C.queued_at, _C.id))


def no_shows_since(connection: Connection, branch_code: str, since: datetime, first_day: date) -> list[Ticket]:
    """The branch's tickets marked no-show at or after ``since`` (of service days from ``first_day`` on, which
    keeps the scan to the day's tickets), the latest first."""
    return _fetch(connection, _C.branch_code == branch_code, _C.service_day >= first_day,
                  _C.state == TicketState.NO_SHOW.value, _C.no_show_at >= since,
                  order=(_C.no_show_at.desc(), _C.id.desc()))


def set_queue_keys(connection: Connection, keys: dict[int, int]) -> None:
    """Store new queue keys by ticket id."""
    if keys:
        connection.execute(update(_TABLE).where(_C.id == bindparam("ticket_id")).values(queue_key_us=bindparam("key")),
                           [{"ticket_id": ticket_id, "key": key} for ticket_id, key in keys.items()])


_IN_PROGRESS = tuple(s.value for s in TicketState if s.in_progress)


def leftovers(connection: Connection, branch_code: str, through: date, limit: int) -> list[Ticket]:
    """Up to ``limit`` of the branch's tickets of service days up to ``through`` still in the hall, oldest first."""
    return [from_row(row) for row in connection.execute(
        _SELECT.where(_C.branch_code == branch_code, _C.state.in_(_IN_PROGRESS), _C.service_day <= through)
        .order_by(_C.id).limit(limit))]


def awaiting(connection: Connection, branch_code: str, services: Iterable[str] | None = None) -> list[Ticket]:
    """The branch's remote tickets whose customers have not checked in (of these services, if given), in queue
    order: a few at most, read through their partial index (``ix_ticket_awaiting``)."""
    conditions: list[Any] = [_C.branch_code == branch_code, text(AWAITING_ROWS)]
    if services is not None:
        conditions.append(_C.service_code.in_(list(services)))
    return _fetch(connection, *conditions, order=(_C.queue_key_us, _C.id))


def awaiting_anywhere(connection: Connection) -> list[Ticket]:
    """:func:`awaiting` of every branch at once (the live loop's check of expired holds, for a whole network): the
    few rows of the partial index ``ix_ticket_awaiting``."""
    return _fetch(connection, text(AWAITING_ROWS), order=(_C.branch_code, _C.queue_key_us, _C.id))


def remote_of_phone(connection: Connection, branch_code: str, phone: str, purpose: str) -> list[Ticket]:
    """The branch's tickets taken on a phone under this number (through the contacts given with them)."""
    linked = select(CustomerContact.__table__.c.ticket_id).where(
        CustomerContact.__table__.c.branch_code == branch_code, CustomerContact.__table__.c.phone == phone,
        CustomerContact.__table__.c.purpose == purpose)
    return _fetch(connection, _C.id.in_(linked), order=(_C.id,))
