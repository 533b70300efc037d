"""Stops of issue in the database, as domain :class:`~server.domain.issuing.IssueStop` objects."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from server.domain.errors import NotFound
from server.domain.hall import Text
from server.domain.issuing import IssueStop
from server.persistence.raw import RawStatement, utc_datetime
from server.persistence.tables import IssueStopRow

_TABLE = IssueStopRow.__table__
_C = _TABLE.c


def _from_row(row: Any) -> IssueStop:
    return IssueStop(branch_code=row.branch_code, service_code=row.service_code, starts_at=row.starts_at,
                     ends_at=row.ends_at, reason_code=row.reason_code, reason=Text(row.reason_zh, row.reason_en),
                     created_by=row.created_by, created_at=row.created_at, resumed_at=row.resumed_at,
                     resumed_by=row.resumed_by, id=row.id)


def _values(stop: IssueStop) -> dict[str, Any]:
    return {"branch_code": stop.branch_code, "service_code": stop.service_code, "starts_at": stop.starts_at,
            "ends_at": stop.ends_at, "reason_code": stop.reason_code, "reason_zh": stop.reason.zh,
            "reason_en": stop.reason.en, "created_by": stop.created_by, "created_at": stop.created_at,
            "resumed_at": stop.resumed_at, "resumed_by": stop.resumed_by}


def add(connection: Connection, stop: IssueStop) -> IssueStop:
    stop.id = int(connection.execute(insert(_TABLE).values(**_values(stop)).returning(_C.id)).scalar_one())
    return stop


def save(connection: Connection, stop: IssueStop) -> None:
    connection.execute(update(_TABLE).where(_C.id == stop.id).values(resumed_at=stop.resumed_at,
                                                                     resumed_by=stop.resumed_by))


def get(connection: Connection, branch_code: str, stop_id: int) -> IssueStop:
    row = connection.execute(select(_TABLE).where(_C.id == stop_id, _C.branch_code == branch_code)).first()
    if row is None:
        raise NotFound(f"no issue stop {stop_id} in branch {branch_code}", code="unknown_stop")
    return _from_row(row)


_FIELDS = tuple(c.name for c in _TABLE.columns)
_CURRENT = RawStatement(select(*(_C[name] for name in _FIELDS)).where(
    _C.branch_code == bindparam("b"), _C.resumed_at.is_(None), or_(_C.ends_at.is_(None), _C.ends_at > bindparam("now"))
).order_by(_C.starts_at, _C.id))
_TIMES = ("starts_at", "ends_at", "created_at", "resumed_at")


def current(connection: Connection, branch_code: str, now: datetime) -> list[IssueStop]:
    """The branch's stops that are in force or still to come (not resumed, not past their end), oldest first.

    Every ticket's issue asks this, so it is compiled once (:class:`RawStatement`) and, as usual, finds nothing."""
    cursor = _CURRENT.execute(connection, {"b": branch_code, "now": now})
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    stops = []
    for row in rows:
        values = dict(zip(_FIELDS, row, strict=True))
        for name in _TIMES:
            values[name] = utc_datetime(values[name])
        stops.append(_from_row(SimpleNamespace(**values)))
    return stops
