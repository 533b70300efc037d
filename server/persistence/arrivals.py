"""The history the staffing advice reads: arrivals per service, day and quarter hour, and the ended days' figures.

Arrivals are counted in one grouped query per request, by the service the ticket was issued for, its service day
and the UTC quarter hour of its issue (whole seconds since 1970 divided by 900): every time zone in use is a whole
number of quarter hours from UTC, so each quarter falls in one local hour, which the caller works out with the
branch's time zone (summer time included) in Python, the same way on SQLite and PostgreSQL. The filter on
``branch_code`` and a handful of ``service_day`` values is a range scan of the unique index
``uq_ticket_number_per_day`` (branch_code, service_day, number); no index of its own is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, Connection, Integer, cast, extract, func, select

from server.persistence.tables import DaySummary, TicketRow

_TICKET = TicketRow.__table__
_SUMMARY = DaySummary.__table__
QUARTER_S = 900


def _quarter(connection: Connection) -> ColumnElement[int]:
    """The issue's quarter hour since 1970 (UTC, as the column stores it)."""
    if connection.dialect.name == "sqlite":
        return cast(func.strftime("%s", _TICKET.c.issued_at), Integer) / QUARTER_S
    return cast(func.floor(extract("epoch", _TICKET.c.issued_at) / QUARTER_S), Integer)


def arrivals(connection: Connection, branch_code: str, days: Sequence[date]) -> list[tuple[str, date, datetime, int]]:
    """(service issued for, service day, start of the UTC quarter hour, tickets) over the branch's ``days``."""
    if not days:
        return []
    quarter = _quarter(connection).label("quarter")
    query = (select(_TICKET.c.issued_service_code, _TICKET.c.service_day, quarter, func.count())
             .where(_TICKET.c.branch_code == branch_code, _TICKET.c.service_day.in_(sorted(set(days))))
             .group_by(_TICKET.c.issued_service_code, _TICKET.c.service_day, quarter))
    return [(service, day, datetime.fromtimestamp(int(q) * QUARTER_S, UTC), int(count))
            for service, day, q, count in connection.execute(query)]


@dataclass(frozen=True)
class ServiceHistory:
    """One service's ended days, summed: what service time and walk-outs the history shows."""

    issued: int
    served: int
    walked_out: int  # cancelled by the customer or not there when called
    called: int
    service_s_total: float  # sum over the days of mean service time x served
    wait_s_total: float  # sum over the days of mean wait x called


def service_history(connection: Connection, branch_code: str, days: Sequence[date]) -> dict[str, ServiceHistory]:
    """The ended days' figures (``day_summary``) over ``days``, per service."""
    if not days:
        return {}
    s = _SUMMARY.c
    query = (select(s.service_code, func.sum(s.issued), func.sum(s.served), func.sum(s.cancelled + s.no_shows),
                    func.sum(s.called), func.sum(func.coalesce(s.service_mean_s, 0) * s.served),
                    func.sum(func.coalesce(s.wait_mean_s, 0) * s.called))
             .where(s.branch_code == branch_code, s.service_day.in_(sorted(set(days))))
             .group_by(s.service_code))
    return {code: ServiceHistory(int(issued or 0), int(served or 0), int(walked or 0), int(called or 0),
                                 float(service or 0), float(wait or 0))
            for code, issued, served, walked, called, service, wait in connection.execute(query)}
