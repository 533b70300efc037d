"""What the live side reads, as named rows: the event log it learns from and the queue it estimates.

Both can be long (28 days of events at start; thousands of waiting tickets), so they come as driver cursors
that the caller reads in chunks (giving waiting requests a turn in between), each row named by
:class:`LearnRow` or :class:`QueueRow`. Timestamps are the driver's own (see :func:`raw.utc_datetime`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select

from server.domain.tickets import EventKind, TicketState
from server.persistence.raw import RawStatement, constants
from server.persistence.tables import TicketEvent, TicketRow


class LearnRow(NamedTuple):
    """One event the estimator learns from, with the facts of its ticket (``ticket_id`` None: a counter event)."""

    seq: int
    at: Any
    kind: str
    counter_number: str | None
    data: str | None
    ticket_id: int | None
    issued_service_code: str | None
    service_code: str | None
    priority: str | None
    transferred: Any
    issued_at: Any
    queued_at: Any
    called_at: Any
    finished_at: Any
    no_show_at: Any


class QueueRow(NamedTuple):
    """A ticket on the floor: waiting, or held by a counter (``counter_number``)."""

    id: int
    number: str
    state: str
    service_code: str
    priority: str
    queued_at: Any
    target_counter: str | None
    transferred: Any
    counter_number: str | None
    called_at: Any
    not_before: Any
    remote: Any = False  # with arrived_at: a remote ticket awaiting its check-in (server/domain/remote.py)
    arrived_at: Any = None


_T = TicketRow.__table__.c
_E = TicketEvent.__table__.c
_LEARN_COLUMNS = (_E.seq, _E.at, _E.kind, _E.counter_number, _E.data, _T.id, _T.issued_service_code, _T.service_code,
                  _T.priority, _T.transferred, _T.issued_at, _T.queued_at, _T.called_at, _T.finished_at, _T.no_show_at)
_CHANGE_COLUMNS = (_E.seq, _E.at, _E.kind)
_QUEUE_COLUMNS = (_T.id, _T.number, _T.state, _T.service_code, _T.priority, _T.queued_at, _T.target_counter,
                  _T.transferred, _T.counter_number, _T.called_at, _T.not_before, _T.remote, _T.arrived_at)
assert len(_LEARN_COLUMNS) == len(LearnRow._fields) and len(_QUEUE_COLUMNS) == len(QueueRow._fields)


class ChangeRow(NamedTuple):
    """One event of any kind, with its ticket as it stands now (``ticket`` None: an event of no ticket)."""

    seq: int
    at: Any
    kind: str
    ticket: QueueRow | None

    @classmethod
    def make(cls, row: Any) -> ChangeRow:
        seq, at, kind, *ticket = row
        return cls(seq, at, kind, None if ticket[0] is None else QueueRow._make(ticket))

LEARNT_KINDS = (
    EventKind.ISSUED, EventKind.CALLED, EventKind.FINISHED, EventKind.NO_SHOW, EventKind.CANCELLED,
    EventKind.COUNTER_PAUSED, EventKind.COUNTER_RESUMED, EventKind.COUNTER_SIGNED_IN, EventKind.COUNTER_SIGNED_OUT,
    EventKind.RATED,
)
"""The events that change what the estimator knows (arrivals, service and walk-out times, pauses, when counters are
usually staffed), and the ratings that the overview's satisfaction today counts."""

_LEARN = (select(*_LEARN_COLUMNS)
          .select_from(TicketEvent.__table__.outerjoin(TicketRow.__table__, _T.id == _E.ticket_id))
          .where(_E.branch_code == bindparam("b"), _E.seq > bindparam("after"),
                 _E.kind.in_(constants([k.value for k in LEARNT_KINDS])))
          .order_by(_E.seq))
_LEARN_NEW = RawStatement(_LEARN)
_LEARN_RECENT = RawStatement(_LEARN.where(_E.at >= bindparam("since")))
_QUEUE = RawStatement(
    select(*_QUEUE_COLUMNS)
    .where(_T.branch_code == bindparam("b"),
           _T.state.in_(constants([s.value for s in TicketState if s is TicketState.WAITING or s.holds_counter])))
    .order_by(_T.queued_at, _T.id))

_CHANGES = RawStatement(
    select(*_CHANGE_COLUMNS, *_QUEUE_COLUMNS)
    .select_from(TicketEvent.__table__.outerjoin(TicketRow.__table__, _T.id == _E.ticket_id))
    .where(_E.branch_code == bindparam("b"), _E.seq > bindparam("after"), _E.seq <= bindparam("until"))
    .order_by(_E.seq))


def changes(connection: Connection, branch_code: str, after_seq: int, until_seq: int) -> Any:
    """A cursor over the branch's events after ``after_seq`` up to ``until_seq`` (a few: the caller bounds the span),
    each with its ticket's row as it stands now (one statement, so the tickets are as of the same moment)."""
    return _CHANGES.execute(connection, {"b": branch_code, "after": after_seq, "until": until_seq})


def events_to_learn(connection: Connection, branch_code: str, after_seq: int, since: datetime | None = None) -> Any:
    """A cursor over the branch's learnt events after ``after_seq`` (and at or after ``since``, if given)."""
    if since is None:
        return _LEARN_NEW.execute(connection, {"b": branch_code, "after": after_seq})
    return _LEARN_RECENT.execute(connection, {"b": branch_code, "after": after_seq, "since": since})


def queue(connection: Connection, branch_code: str) -> Any:
    """A cursor over the branch's waiting and counter-held tickets, oldest in the queue first."""
    return _QUEUE.execute(connection, {"b": branch_code})
