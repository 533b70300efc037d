"""The reports' figures: written once per closed day (:func:`replace_day`), summed over a range (:func:`sums`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from server.domain.reports import Cell, Grain
from server.persistence.tables import REPORT_FIGURE, REPORT_REASON, DayClose

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


def sums(connection: Connection, grain: Grain, branches: Sequence[str], first: date, last: date,
         keys: Sequence[str], measures: Sequence[str]) -> list[dict[str, Any]]:
    """``measures`` summed over the ``grain`` cells of ``branches`` in [``first``, ``last``], grouped by ``keys``."""
    group = [REPORT_FIGURE.c[key] for key in keys]
    query = (select(*group, *(func.coalesce(func.sum(REPORT_FIGURE.c[m]), 0).label(m) for m in measures))
             .where(REPORT_FIGURE.c.grain == grain.value, REPORT_FIGURE.c.branch_code.in_(branches),
                    REPORT_FIGURE.c.service_day >= first, REPORT_FIGURE.c.service_day <= last))
    if group:
        query = query.group_by(*group)
    return [dict(row) for row in connection.execute(query).mappings()]


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
