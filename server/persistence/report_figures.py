"""The reports' figures: written once per closed day (:func:`replace_day`), summed over a range (:func:`sums`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from server.domain.booking import BOOKING_COUNTS
from server.domain.reports import (
    COUNTS,
    SERVICE_BINS,
    WAIT_BINS,
    WEEKDAY_GRAINS,
    Cell,
    Grain,
    month_of,
    next_month,
    split_months,
)
from server.persistence.tables import REPORT_BOOKING, REPORT_FIGURE, REPORT_MONTH, REPORT_REASON, DayClose

MEASURES = (*COUNTS, *WAIT_BINS, *SERVICE_BINS)
CELL_KEYS = ("grain", "hour", "service_code", "counter_number", "staff_username")

KEYS = ("branch_code", "service_day", "hour", "service_code", "counter_number", "staff_username")
"""The columns a report may group by."""


def replace_day(connection: Connection, branch_code: str, day: date, cells: Sequence[Cell]) -> None:
    """Store ``day``'s cells for the branch, replacing any stored before (a rebuild, a second process)."""
    connection.execute(delete(REPORT_FIGURE).where(REPORT_FIGURE.c.branch_code == branch_code,
                                                   REPORT_FIGURE.c.service_day == day))
    connection.execute(delete(REPORT_REASON).where(REPORT_REASON.c.branch_code == branch_code,
                                                   REPORT_REASON.c.service_day == day))
    if cells:
        connection.execute(insert(REPORT_FIGURE), [{"branch_code": branch_code, "service_day": day, **c.row()}
                                                   for c in cells])
    reasons = [{"branch_code": branch_code, "service_day": day, "service_code": c.service_code, "reason": reason,
                "ratings": count} for c in cells if c.grain is Grain.SERVICE for reason, count in c.reasons.items()]
    if reasons:
        connection.execute(insert(REPORT_REASON), reasons)
    refresh_month(connection, branch_code, month_of(day))


def replace_booking_day(connection: Connection, branch_code: str, day: date,
                        counts: dict[str, dict[str, int]]) -> None:
    """Store ``day``'s booking figures per service for the branch, replacing any stored before."""
    connection.execute(delete(REPORT_BOOKING).where(REPORT_BOOKING.c.branch_code == branch_code,
                                                    REPORT_BOOKING.c.service_day == day))
    if counts:
        connection.execute(insert(REPORT_BOOKING), [{"branch_code": branch_code, "service_day": day,
                                                     "service_code": service, **row}
                                                    for service, row in sorted(counts.items())])


def booking_sums(connection: Connection, branches: Sequence[str], first: date, last: date,
                 keys: Sequence[str]) -> list[dict[str, Any]]:
    """The booking figures of ``branches`` over [``first``, ``last``], summed by ``keys`` (columns of
    ``report_booking``: ``branch_code``, ``service_day``, ``service_code``)."""
    columns = [REPORT_BOOKING.c[k] for k in keys]
    query = (select(*columns, *(func.sum(REPORT_BOOKING.c[m]).label(m) for m in BOOKING_COUNTS))
             .where(REPORT_BOOKING.c.branch_code.in_(list(branches)), REPORT_BOOKING.c.service_day >= first,
                    REPORT_BOOKING.c.service_day <= last))
    if columns:
        query = query.group_by(*columns)
    return [dict(row) for row in connection.execute(query).mappings() if row["booked"] is not None]


def refresh_month(connection: Connection, branch_code: str, month: date) -> None:
    """Rewrite the branch's month rows from its day rows of that month (a few hundred: cheap, and the same
    whichever process or rebuild wrote the days)."""
    connection.execute(delete(REPORT_MONTH).where(REPORT_MONTH.c.branch_code == branch_code,
                                                  REPORT_MONTH.c.month == month))
    days = connection.execute(select(REPORT_FIGURE).where(
        REPORT_FIGURE.c.branch_code == branch_code, REPORT_FIGURE.c.service_day >= month,
        REPORT_FIGURE.c.service_day < next_month(month))).mappings().all()
    summed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in days:
        weekday = row["service_day"].weekday() if row["grain"] in WEEKDAY_GRAINS else -1
        key = (weekday, *(row[k] for k in CELL_KEYS))
        found = summed.get(key)
        if found is None:
            summed[key] = {"branch_code": branch_code, "month": month, "weekday": weekday,
                           **{k: row[k] for k in CELL_KEYS}, **{m: row[m] for m in MEASURES}}
        else:
            for m in MEASURES:
                found[m] += row[m]
    if summed:
        connection.execute(insert(REPORT_MONTH), list(summed.values()))


def sums(connection: Connection, grain: Grain, branches: Sequence[str], first: date, last: date,
         keys: Sequence[str], measures: Sequence[str], *, by_weekday: bool = False) -> list[dict[str, Any]]:
    """``measures`` summed over the ``grain`` cells of ``branches`` in [``first``, ``last``], grouped by ``keys``
    (and by ``weekday`` when asked: a grain of :data:`WEEKDAY_GRAINS`). Whole months are read from the month rows
    and only the days at the ends from the day rows, unless ``keys`` name the day; the rows of the two reads are
    returned one after the other, for the caller to add up."""
    months, edges = ([], [(first, last)]) if "service_day" in keys else split_months(first, last)
    found: list[dict[str, Any]] = []
    if months:
        table = REPORT_MONTH
        group = [table.c[key] for key in keys] + ([table.c.weekday] if by_weekday else [])
        query = (select(*group, *(func.sum(table.c[m]).label(m) for m in measures))
                 .where(table.c.grain == grain.value, table.c.branch_code.in_(branches), table.c.month.in_(months)))
        found += [dict(row) for row in connection.execute(query.group_by(*group) if group else query).mappings()]
    table = REPORT_FIGURE
    for start, end in edges:
        day_keys = [*keys, "service_day"] if by_weekday and "service_day" not in keys else list(keys)
        group = [table.c[key] for key in day_keys]
        query = (select(*group, *(func.sum(table.c[m]).label(m) for m in measures))
                 .where(table.c.grain == grain.value, table.c.branch_code.in_(branches),
                        table.c.service_day >= start, table.c.service_day <= end))
        for row in connection.execute(query.group_by(*group) if group else query).mappings():
            row = dict(row)
            if by_weekday:
                row["weekday"] = row["service_day"].weekday()
            found.append(row)
    return [row for row in found if row[measures[0]] is not None]


def reason_sums(connection: Connection, branches: Sequence[str], first: date, last: date,
                keys: Sequence[str]) -> list[dict[str, Any]]:
    """How often each rating reason was chosen, grouped by ``keys`` (of branch_code, service_day, service_code)."""
    group = [REPORT_REASON.c[key] for key in keys]
    query = (select(*group, REPORT_REASON.c.reason, func.sum(REPORT_REASON.c.ratings).label("ratings"))
             .where(REPORT_REASON.c.branch_code.in_(branches), REPORT_REASON.c.service_day >= first,
                    REPORT_REASON.c.service_day <= last).group_by(*group, REPORT_REASON.c.reason))
    return [dict(row) for row in connection.execute(query).mappings()]


def closed_days(connection: Connection, branch_code: str, first: date | None, last: date | None) -> list[date]:
    """The branch's closed days in the range (what a rebuild goes over)."""
    close = DayClose.__table__
    conditions = [close.c.branch_code == branch_code]
    if first is not None:
        conditions.append(close.c.service_day >= first)
    if last is not None:
        conditions.append(close.c.service_day <= last)
    return sorted(connection.execute(select(close.c.service_day).where(*conditions)).scalars())
