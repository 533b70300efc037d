"""Ended service days: one ``day_close`` row per branch and day, and the day's figures per service."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, select

from server.domain.estimation import GivenEstimate
from server.domain.service_day import DayFigures, TicketFacts
from server.domain.tickets import EventKind, TicketState
from server.persistence.tables import DayClose, DaySummary, Rating, TicketEvent, TicketRow

_CLOSE = DayClose.__table__
_SUMMARY = DaySummary.__table__
_TICKET = TicketRow.__table__
_EVENT = TicketEvent.__table__
_RATING = Rating.__table__


def last_closed_day(connection: Connection, branch_code: str) -> date | None:
    """The latest day of the branch recorded as ended."""
    return connection.execute(select(func.max(_CLOSE.c.service_day)).where(
        _CLOSE.c.branch_code == branch_code)).scalar_one_or_none()


def days_with_tickets(connection: Connection, branch_code: str, after: date | None, through: date) -> list[date]:
    """The days in (``after``, ``through``] on which the branch issued tickets."""
    conditions = [_TICKET.c.branch_code == branch_code, _TICKET.c.service_day <= through]
    if after is not None:
        conditions.append(_TICKET.c.service_day > after)
    return sorted(connection.execute(select(_TICKET.c.service_day).where(*conditions).distinct()).scalars())


def closed_among(connection: Connection, branch_code: str, days: list[date]) -> set[date]:
    """Which of ``days`` are recorded as ended already (by this process or another)."""
    if not days:
        return set()
    return set(connection.execute(select(_CLOSE.c.service_day).where(
        _CLOSE.c.branch_code == branch_code, _CLOSE.c.service_day.in_(days))).scalars())


def ticket_facts(connection: Connection, branch_code: str, day: date) -> list[TicketFacts]:
    """What the day's figures need of each ticket of the branch's ``day``."""
    first_call = (select(func.min(_EVENT.c.at)).where(_EVENT.c.ticket_id == _TICKET.c.id,
                                                      _EVENT.c.kind == EventKind.CALLED.value)
                  .correlate(_TICKET).scalar_subquery())
    issued = (select(_EVENT.c.data).where(_EVENT.c.ticket_id == _TICKET.c.id, _EVENT.c.kind == EventKind.ISSUED.value)
              .correlate(_TICKET).limit(1).scalar_subquery())
    # a customer's own cancel (the phone ticket page) names nobody; staff and integrations are named by username
    by_customer = exists().where(_EVENT.c.ticket_id == _TICKET.c.id, _EVENT.c.kind == EventKind.CANCELLED.value,
                                 _EVENT.c.staff_username.is_(None)).correlate(_TICKET)
    query = (select(_TICKET.c.issued_service_code, _TICKET.c.state, _TICKET.c.transferred, _TICKET.c.issued_at,
                    first_call, _TICKET.c.service_started_at, _TICKET.c.finished_at, _RATING.c.dissatisfied,
                    _TICKET.c.counter_number, _TICKET.c.staff_username, _RATING.c.reasons, issued, by_customer)
             .select_from(_TICKET.outerjoin(_RATING, _RATING.c.ticket_id == _TICKET.c.id))
             .where(_TICKET.c.branch_code == branch_code, _TICKET.c.service_day == day))
    facts = []
    for (service, state, transferred, issued_at, called_at, started_at, finished_at, dissatisfied, counter, staff,
         reasons, issued_data, cancelled_by_customer) in connection.execute(query):
        facts.append(TicketFacts(
            issued_service_code=service, state=TicketState(state), transferred=bool(transferred), issued_at=issued_at,
            first_called_at=_aware(called_at), service_started_at=started_at, finished_at=finished_at,
            rating_dissatisfied=None if dissatisfied is None else bool(dissatisfied), counter_number=counter,
            staff_username=staff, rating_reasons=tuple(json.loads(reasons)) if reasons else (),
            estimate=_given_estimate(issued_data),
            cancelled_by_customer=state == TicketState.CANCELLED.value and bool(cancelled_by_customer)))
    return facts


def _given_estimate(data: str | None) -> GivenEstimate | None:
    """The known estimate an ``issued`` event's data recorded (tickets issued before estimates were kept: None)."""
    if not data:
        return None
    try:
        recorded = json.loads(data)
    except ValueError:
        return None
    return GivenEstimate.of(recorded.get("estimate") if isinstance(recorded, dict) else None)


def _aware(value: datetime | None) -> datetime | None:
    """MIN() over the column keeps its type on both databases; should a driver still hand back a naive value, it
    is UTC as stored."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def expired_count(connection: Connection, branch_code: str, day: date) -> int:
    return int(connection.execute(select(func.count()).select_from(_TICKET).where(
        _TICKET.c.branch_code == branch_code, _TICKET.c.service_day == day,
        _TICKET.c.state == TicketState.EXPIRED.value)).scalar_one())


def record(connection: Connection, branch_code: str, day: date, closed_at: datetime, *, expired: int,
           signed_out: int, figures: list[DayFigures]) -> None:
    """Record ``day`` as ended with its figures (the caller checked it was not recorded yet)."""
    connection.execute(insert(_CLOSE).values(branch_code=branch_code, service_day=day, closed_at=closed_at,
                                             expired=expired, signed_out=signed_out))
    if figures:
        connection.execute(insert(_SUMMARY), [{"branch_code": branch_code, "service_day": day, **f.as_dict()}
                                              for f in figures])


def summaries(connection: Connection, branch_code: str, first: date, last: date) -> list[dict[str, Any]]:
    """The recorded days in [``first``, ``last``], newest first, each with its figures per service."""
    closes = connection.execute(select(_CLOSE).where(
        _CLOSE.c.branch_code == branch_code, _CLOSE.c.service_day >= first, _CLOSE.c.service_day <= last)
        .order_by(_CLOSE.c.service_day.desc())).mappings().all()
    rows = connection.execute(select(_SUMMARY).where(and_(
        _SUMMARY.c.branch_code == branch_code, _SUMMARY.c.service_day >= first, _SUMMARY.c.service_day <= last))
    ).mappings().all()
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row["service_day"], []).append(
            {k: v for k, v in row.items() if k not in ("branch_code", "service_day")})
    return [{"day": close["service_day"], "closed_at": close["closed_at"], "expired": close["expired"],
             "signed_out": close["signed_out"], "services": by_day.get(close["service_day"], [])}
            for close in closes]
