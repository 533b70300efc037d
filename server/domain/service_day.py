"""When a branch's service day ends, and what it leaves behind.

A day ends ``grace`` after the branch's last closing time that day (staff serve the customers still
waiting at closing), and never later than the next local midnight, so that tomorrow starts clean; a day
the branch is closed ends at its midnight. Whatever is still in the hall then expires
(:meth:`server.domain.ticket.Ticket.expire`), open counters are signed out, and the day's figures are kept
(:class:`DayFigures`).

All instants are aware; local dates and times are the branch's own (its time zone, daylight saving included).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from server.domain.estimation import GivenEstimate
from server.domain.hall import Branch
from server.domain.numbering import service_day
from server.domain.tickets import TicketState

DAY_ENDED_REASON = "day_ended"
"""The reason on the events of tickets and counters closed by the end of a service day."""


def next_midnight(branch: Branch, day: date) -> datetime:
    """The instant ``day`` gives way to the next local day (in UTC: instants in one zone compare by wall clock,
    which gets the hour repeated in autumn wrong)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=branch.timezone).astimezone(UTC)


def day_ends_at(branch: Branch, day: date, grace: timedelta) -> datetime:
    """The instant the branch's service ``day`` ends: closing plus ``grace``, at the latest the next midnight."""
    midnight = next_midnight(branch, day)
    closes = branch.closes_at(day)  # its weekly hours and that date's exceptions (a holiday: None)
    return midnight if closes is None else min(closes + grace, midnight)


@dataclass(frozen=True)
class DayBoundary:
    """At one instant: the last service day that has ended, and when the current one ends."""

    ended_through: date
    current_ends_at: datetime
    current_began_at: datetime  # when the last day ended: what happened before is not today's

    @classmethod
    def at(cls, branch: Branch, now: datetime, grace: timedelta) -> DayBoundary:
        today = service_day(now, branch.timezone)
        ends_today = day_ends_at(branch, today, grace)
        if now >= ends_today:
            return cls(today, day_ends_at(branch, today + timedelta(days=1), grace), ends_today)
        yesterday = today - timedelta(days=1)
        return cls(yesterday, ends_today, day_ends_at(branch, yesterday, grace))


# --- the day in figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFacts:
    """What the day's figures need of one ticket of the day."""

    issued_service_code: str
    state: TicketState
    transferred: bool
    issued_at: datetime
    first_called_at: datetime | None
    service_started_at: datetime | None
    finished_at: datetime | None
    rating_dissatisfied: bool | None  # None: not rated
    counter_number: str | None = None  # the counter that last handled it (the reports' counter figures)
    staff_username: str | None = None
    rating_reasons: tuple[str, ...] = ()
    estimate: GivenEstimate | None = None  # the known estimate it was given at issue
    cancelled_by_customer: bool = False  # cancelled by its customer (the phone page), not by staff or a system


@dataclass(frozen=True)
class DayFigures:
    """One service's day: how many tickets ended how, the waits (issue to first call) and satisfaction."""

    service_code: str
    issued: int = 0
    served: int = 0
    no_shows: int = 0
    cancelled: int = 0
    expired: int = 0
    transferred: int = 0
    called: int = 0
    wait_mean_s: float | None = None
    wait_p90_s: float | None = None
    within_target: int = 0
    service_mean_s: float | None = None
    rated: int = 0
    satisfied: int = 0

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.9: the value 90 % of the values are at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


_ENDS = {TicketState.DONE: "served", TicketState.NO_SHOW: "no_shows", TicketState.CANCELLED: "cancelled",
         TicketState.EXPIRED: "expired"}


def day_figures(branch: Branch, tickets: Iterable[TicketFacts]) -> list[DayFigures]:
    """The figures of each service that issued tickets, in the branch's order of services (then any other code).

    Called once the day has ended, when every ticket is in one of the four end states.
    """
    by_service: dict[str, list[TicketFacts]] = {}
    for facts in tickets:
        by_service.setdefault(facts.issued_service_code, []).append(facts)
    order = {service.code: index for index, service in enumerate(branch.services)}
    figures = []
    for code in sorted(by_service, key=lambda c: (order.get(c, len(order)), c)):
        rows = by_service[code]
        service = branch.service(code)
        ends = {name: sum(1 for r in rows if _ENDS.get(r.state) == name) for name in _ENDS.values()}
        waits = [(r.first_called_at - r.issued_at).total_seconds() for r in rows if r.first_called_at is not None]
        services = [(r.finished_at - r.service_started_at).total_seconds() for r in rows
                    if r.state is TicketState.DONE and r.finished_at and r.service_started_at]
        target = service.target_wait.total_seconds() if service else None
        rated = [r for r in rows if r.rating_dissatisfied is not None]
        figures.append(DayFigures(
            service_code=code, issued=len(rows), **ends,
            transferred=sum(1 for r in rows if r.transferred), called=len(waits),
            wait_mean_s=sum(waits) / len(waits) if waits else None, wait_p90_s=percentile(waits, 0.9),
            within_target=sum(1 for w in waits if target is not None and w <= target),
            service_mean_s=sum(services) / len(services) if services else None,
            rated=len(rated), satisfied=sum(1 for r in rated if not r.rating_dissatisfied)))
    return figures
