"""The per-service, per-day number sequences a ticket number is drawn from (under the branch's command lock)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, bindparam, insert, select, update

from server.persistence.raw import RawStatement
from server.persistence.tables import NumberSequence

_TABLE = NumberSequence.__table__
_KEY = ((_TABLE.c.branch_code == bindparam("b")) & (_TABLE.c.service_code == bindparam("s"))
        & (_TABLE.c.service_day == bindparam("d")))
_SELECT = RawStatement(select(_TABLE.c.last_sequence, _TABLE.c.issued_count).where(_KEY))
_INSERT = RawStatement(insert(_TABLE), [c.name for c in _TABLE.columns])
_UPDATE = RawStatement(update(_TABLE).where(_KEY).values(last_sequence=bindparam("last"),
                                                         issued_count=bindparam("issued")))


def current(connection: Connection, branch_code: str, service_code: str, day: date,
            start_number: int) -> tuple[int, int]:
    """The last number drawn and how many were issued that day; a new day's row starts before ``start_number``."""
    row = _SELECT.first(connection, {"b": branch_code, "s": service_code, "d": day})
    if row is not None:
        return int(row[0]), int(row[1])
    _INSERT.run(connection, {"branch_code": branch_code, "service_code": service_code, "service_day": day,
                             "last_sequence": start_number - 1, "issued_count": 0})
    return start_number - 1, 0


def advance(connection: Connection, branch_code: str, service_code: str, day: date, last: int, issued: int) -> None:
    _UPDATE.run(connection, {"b": branch_code, "s": service_code, "d": day, "last": last, "issued": issued})


def issued_on(connection: Connection, branch_code: str, day: date) -> dict[str, int]:
    """Tickets issued per service on a service day."""
    return {str(code): int(count) for code, count in connection.execute(
        select(_TABLE.c.service_code, _TABLE.c.issued_count)
        .where(_TABLE.c.branch_code == branch_code, _TABLE.c.service_day == day))}
