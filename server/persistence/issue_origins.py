"""Counting a caller's recent and open tickets for the limits on taking tickets (``issue_origin``).

Instants are stored as microseconds since 1970, so that the counts run as :class:`RawStatement` on the issue's
hot path (a kiosk's issue adds one indexed read and one insert). Every query reads one index range: the newest
rows of one caller within a window (no more than its limit, since no more were let through), or the rows of one
device or address in the last day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select
from sqlmodel import Session

from server.domain.limits import CallerKind, IssueCaller
from server.domain.tickets import TicketState
from server.persistence.raw import RawStatement, constants
from server.persistence.tables import IssueOrigin, TicketRow

_O = IssueOrigin.__table__.c
_T = TicketRow.__table__.c
OPEN_WITHIN = timedelta(days=1)
"""Open tickets are looked for among the last day's: the end of each service day closes older ones."""
KEEP = timedelta(days=2)

_IN_HALL = constants([s.value for s in TicketState if s.in_progress])
_KIND = dict(zip(CallerKind, constants([k.value for k in CallerKind]), strict=True))
_NOT_KIOSK = _O.kind != _KIND[CallerKind.KIOSK]


def _recent(*where: object) -> RawStatement:
    return RawStatement(select(_O.issued_us).where(_O.branch_code == bindparam("b"), *where,
                                                    _O.issued_us > bindparam("since"))
                        .order_by(_O.issued_us.desc()))


def _open(*where: object) -> RawStatement:
    return RawStatement(select(func.count()).select_from(IssueOrigin.__table__.join(TicketRow.__table__,
                                                                                   _T.id == _O.ticket_id))
                        .where(_O.branch_code == bindparam("b"), *where, _O.issued_us > bindparam("since"),
                               _T.state.in_(_IN_HALL)))


_KIOSK_RECENT = _recent(_O.device == bindparam("d"), _O.address == bindparam("a"),
                        _O.kind == _KIND[CallerKind.KIOSK])
_DEVICE_RECENT = _recent(_O.device == bindparam("d"), _O.kind == _KIND[CallerKind.DEVICE])
_ADDRESS_RECENT = _recent(_O.address == bindparam("a"), _NOT_KIOSK)
_DEVICE_OPEN = _open(_O.device == bindparam("d"), _O.kind == _KIND[CallerKind.DEVICE])
_ADDRESS_OPEN = _open(_O.address == bindparam("a"), _NOT_KIOSK)
_INSERT = RawStatement(insert(IssueOrigin.__table__), ["ticket_id", "branch_code", "kind", "device", "address",
                                                       "issued_us"])


def to_us(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def recent(connection: Connection, branch_code: str, caller: IssueCaller, which: CallerKind, *, since: datetime,
           count: int) -> list[datetime]:
    """The newest (at most ``count``) instants since ``since`` at which this caller took tickets: as this kiosk
    at this address (``KIOSK``), as this device anywhere (``DEVICE``) or as anyone but a kiosk at this address
    (``ANONYMOUS``)."""
    statement = {CallerKind.KIOSK: _KIOSK_RECENT, CallerKind.DEVICE: _DEVICE_RECENT,
                 CallerKind.ANONYMOUS: _ADDRESS_RECENT}[which]
    cursor = statement.execute(connection, {"b": branch_code, "d": caller.device, "a": caller.address,
                                            "since": to_us(since)})
    try:  # no LIMIT (SQLite's needs a bound OFFSET too): the newest few rows are read, the cursor dropped
        return [from_us(int(row[0])) for row in cursor.fetchmany(count)]
    finally:
        cursor.close()


def open_count(connection: Connection, branch_code: str, caller: IssueCaller, which: CallerKind, *,
               now: datetime) -> int:
    """This device's (``DEVICE``) or this address's non-kiosk (``ANONYMOUS``) tickets still in the hall."""
    statement = _DEVICE_OPEN if which is CallerKind.DEVICE else _ADDRESS_OPEN
    row = statement.first(connection, {"b": branch_code, "d": caller.device, "a": caller.address,
                                       "since": to_us(now - OPEN_WITHIN)})
    return int(row[0]) if row else 0


def add(connection: Connection, ticket_id: int, branch_code: str, caller: IssueCaller, at: datetime) -> None:
    _INSERT.run(connection, {"ticket_id": ticket_id, "branch_code": branch_code, "kind": caller.kind.value,
                             "device": caller.device, "address": caller.address, "issued_us": to_us(at)})


def purge(engine: Engine, now: datetime, keep: timedelta = KEEP) -> int:
    """Forget origins older than ``keep`` (at least two days); how many were removed."""
    with Session(engine) as session, session.begin():
        result = session.execute(delete(IssueOrigin).where(_O.issued_us < to_us(now - max(keep, KEEP))))
        return int(getattr(result, "rowcount", 0) or 0)
