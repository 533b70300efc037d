"""The end of a service day: leftovers expire, open counters sign out, the day's figures are kept.

:meth:`ServiceDays.end_due` is cheap to call often: each process remembers when a branch's current day
ends and does nothing before then. It is called at start-up (so a server that was down at the boundary,
or for a week, catches up), by the live loop every second, and before every command that issues or calls a
ticket (so the first ticket of a new day never meets yesterday's queue).

The work is idempotent and shared safely by several processes: tickets expire in chunks of
:attr:`ServiceDays.CHUNK`, each chunk one command transaction that picks whatever is still left (under the
branch's lock), so a busy branch's thousands of leftovers never hold the hall for long; the day is then
recorded once (``day_close``, for each day that had tickets), by whichever process gets there first, which
also publishes the one ``day_ended`` event the screens resync on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server.domain.api_tokens import Scope
from server.domain.booking import BookingFacts, BookingState, day_booking_counts
from server.domain.errors import DomainError
from server.domain.hall import Branch
from server.domain.reports import Cell, day_cells
from server.domain.service_day import (
    DAY_ENDED_REASON,
    DayBoundary,
    TicketFacts,
    day_ends_at,
    day_figures,
    next_midnight,
)
from server.domain.tickets import EventKind, PriorityClass
from server.persistence import bookings, counter_sessions, report_figures, service_days, tickets
from server.persistence.raw import utc_datetime
from server.services.access import require_reports
from server.services.actor import Actor
from server.services.context import HallContext

log = logging.getLogger(__name__)

MAX_SUMMARY_DAYS = 366

DAY_END = Actor(username=None, role="system", device="day-end")
"""Who the events of a day's end name: nobody signed in, the server itself."""


@dataclass
class DayEnd:
    """What one run of the day's end did for a branch."""

    branch: str
    ended_through: date
    expired: int = 0
    signed_out: int = 0
    recorded: list[date] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.expired or self.signed_out or self.recorded)


class ServiceDays:
    """Ends each branch's service days for one configuration (one per process)."""

    MAX_PAUSE_S = 0.05
    CHUNK = 50  # tickets expired per transaction: tens of milliseconds of the event loop each, at most

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall
        self._current: dict[str, tuple[datetime, datetime]] = {}  # branch: when its current day began and ends
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def boundary(self, branch: Branch, now: datetime | None = None) -> DayBoundary:
        """The last ended day and the current day's end, at ``now`` (the clock's reading by default)."""
        return DayBoundary.at(branch, now or self.hall.clock(), self.hall.config.queue.day_end_grace)

    def end_due(self, branch_code: str) -> DayEnd | None:
        """End the branch's days that have ended and are not closed yet; None (at once) when there are none."""
        if self._within_current_day(branch_code):
            return None
        with self._lock(branch_code):
            if self._within_current_day(branch_code):
                return None  # another green thread of this process just did it
            return self.end_days(branch_code)

    def _within_current_day(self, branch_code: str) -> bool:
        """Whether the clock is still within the day this process last saw begin (a clock set back to an earlier
        day counts as a new day too: what it issues is that day's, to be ended when the clock is right again)."""
        current = self._current.get(branch_code)
        return current is not None and current[0] <= self.hall.clock() < current[1]

    def end_all_due(self) -> list[DayEnd]:
        """:meth:`end_due` for every branch (at start-up): what was done."""
        done = []
        for branch in self.hall.config.branches:
            result = self.end_due(branch.code)
            if result is not None and result.changed:
                done.append(result)
        return done

    def end_days(self, branch_code: str) -> DayEnd:
        """Close every ended day of the branch: expire what is left of them, sign out their counters, record them."""
        hall = self.hall
        branch = hall.branch(branch_code)
        boundary = self.boundary(branch)
        result = DayEnd(branch.code, boundary.ended_through)
        while True:  # chunk by chunk, each its own short transaction
            started = time.monotonic()
            with hall.uow.command(branch, hall.clock()) as tx:
                left = tickets.leftovers(tx.connection, branch.code, boundary.ended_through, self.CHUNK)
                for ticket in left:
                    change = ticket.expire(tx.now, DAY_ENDED_REASON)
                    tickets.save(tx.connection, ticket)
                    tx.record(ticket, change, DAY_END, quiet=True)
            result.expired += len(left)
            if len(left) < self.CHUNK:
                break
            # under eventlet the work holds the one OS thread: give the hall's requests as long as a chunk took
            time.sleep(min(time.monotonic() - started, self.MAX_PAUSE_S))
        ended_at = day_ends_at(branch, boundary.ended_through, hall.config.queue.day_end_grace)
        with hall.uow.command(branch, hall.clock()) as tx:
            for session in counter_sessions.for_branch(tx.connection, branch.code).values():
                if session.signed_in_at is None or session.signed_in_at >= ended_at:
                    continue  # closed, or opened after the day ended (the next day's work)
                if tickets.at_counter(tx.connection, branch.code, session.counter_number) is not None:
                    continue  # serving a ticket of the new day: not the old day's counter any more
                change = session.sign_out(DAY_ENDED_REASON)
                counter_sessions.save(tx.connection, session)
                tx.record_counter(session.counter_number, change, DAY_END)
                result.signed_out += 1
            last = service_days.last_closed_day(tx.connection, branch.code)
            if last is None or last < boundary.ended_through:
                days = service_days.days_with_tickets(tx.connection, branch.code, last, boundary.ended_through)
                for day in sorted(set(days) - service_days.closed_among(tx.connection, branch.code, days)):
                    facts = service_days.ticket_facts(tx.connection, branch.code, day)
                    figures = day_figures(branch, facts)
                    expired = service_days.expired_count(tx.connection, branch.code, day)
                    signed_out = result.signed_out if day == boundary.ended_through else 0
                    service_days.record(tx.connection, branch.code, day, tx.now, expired=expired,
                                        signed_out=signed_out, figures=figures)
                    report_figures.replace_day(tx.connection, branch.code, day, report_cells(branch, facts))
                    report_figures.replace_booking_day(tx.connection, branch.code, day,
                                                       booking_counts(tx.connection, branch, day, tx.now))
                    result.recorded.append(day)
            if result.changed:
                tx.emit(EventKind.DAY_ENDED, staff=None, device=DAY_END.device, reason=DAY_ENDED_REASON,
                        data={"day": boundary.ended_through.isoformat(), "expired": result.expired,
                              "signed_out": result.signed_out},
                        public={"day": boundary.ended_through.isoformat(), "expired": result.expired,
                                "signed_out": result.signed_out, "resync": True})
        self._current[branch.code] = (boundary.current_began_at, boundary.current_ends_at)
        if result.changed:
            log.info("branch %s: service day %s ended (%d tickets expired, %d counters signed out)", branch.code,
                     boundary.ended_through, result.expired, result.signed_out)
        return result

    def rebuild_reports(self, branch_code: str, first: date | None = None, last: date | None = None) -> int:
        """Fill the reports' figures of the branch's closed days in [``first``, ``last``] from their tickets (days
        closed before the figures existed, or after a fix); one transaction per day. The number of days done."""
        hall = self.hall
        branch = hall.branch(branch_code)
        with hall.uow.read() as session:
            days = report_figures.closed_days(session.connection(), branch.code, first, last)
        for day in days:
            with hall.uow.write() as session:
                connection = session.connection()
                facts = service_days.ticket_facts(connection, branch.code, day)
                report_figures.replace_day(connection, branch.code, day, report_cells(branch, facts))
                report_figures.replace_booking_day(connection, branch.code, day,
                                                   booking_counts(connection, branch, day, hall.clock()))
        return len(days)

    def summaries(self, branch_code: str, actor: Actor, *, first: date | None = None,
                  last: date | None = None) -> dict[str, Any]:
        """The ended days' figures, newest first (a manager of the branch): ``first``..``last``, by default the
        last 14 days."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_reports(hall.config, actor, branch, token_scope=Scope.READ)
        last = last or self.boundary(branch).ended_through
        first = first or last - timedelta(days=13)
        if first > last or (last - first).days >= MAX_SUMMARY_DAYS:
            raise DomainError(f"from must be on or before to, and at most {MAX_SUMMARY_DAYS} days apart",
                              code="bad_date_range", http_status=400)
        with hall.uow.read() as session:
            days = service_days.summaries(session.connection(), branch.code, first, last)
        return {"branch": branch.code, "first": first.isoformat(), "last": last.isoformat(),
                "days": [{**day, "day": day["day"].isoformat(), "closed_at": day["closed_at"].isoformat()}
                         for day in days]}

    def _lock(self, branch_code: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(branch_code, threading.Lock())


def booking_counts(connection: Any, branch: Branch, day: date, now: datetime) -> dict[str, dict[str, int]]:
    """The booking figures of one of the branch's closed days per service, judged once the day is over with the
    grace of its last slot: a booking not checked in by then never can be (a check-in on another day is refused),
    whether the day end runs at closing or a rebuild months later."""
    judged = max(now, next_midnight(branch, day) + timedelta(minutes=branch.booking.late_grace_min))
    return day_booking_counts(branch.booking, (
        (row.service_code, BookingFacts(row.branch_code, BookingState(row.state), row.service_day,
                                        utc_datetime(row.slot_start), utc_datetime(row.slot_end),
                                        row.ticket_id is not None),
         row.ticket_id is not None and row.priority != PriorityClass.APPOINTMENT.value)
        for row in bookings.of_closed_day(connection, branch.code, day)), judged)


def report_cells(branch: Branch, facts: list[TicketFacts]) -> list[Cell]:
    """The reports' figure cells of one of the branch's closed days."""
    return day_cells(facts, branch.timezone, {service.code: service.target_wait for service in branch.services})
