"""What screens and devices read of a hall: the snapshot, a counter's queue, a customer's ticket, history.

Reads run in a read transaction on the read engine; each answer carries the branch ``seq`` it is consistent
with where a screen needs to tell a fresher answer from an older one.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from server.domain import policy
from server.domain.counter_session import services_today
from server.domain.estimation import GivenEstimate, WaitEstimate
from server.domain.hall import Branch, Service
from server.domain.issuing import IssueStop, blocking, resumes_at, tickets_until
from server.domain.numbering import service_day
from server.domain.privacy import mask_phone_like
from server.domain.service_day import DayBoundary
from server.domain.tickets import TicketState
from server.persistence import counter_sessions, hall_reads, issue_stops, numbers, tickets
from server.persistence.queue_queries import count_ahead, held
from server.services.context import HallContext
from server.services.views import (
    callable_from,
    counter_view,
    iso,
    opening_view,
    service_view,
    skills_today,
    ticket_public,
    ticket_staff,
)

_ON_THE_FLOOR = tuple(s for s in TicketState if s.in_progress)
_AT_COUNTERS = tuple(s for s in TicketState if s.holds_counter)
MAX_NO_SHOWS = 20  # a console lists this many no-shows that may come back; more is a hall in trouble, not a list


class HallQueries:
    """Reads of every branch of one configuration."""

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall

    def snapshot(self, branch_code: str, *, staff: bool = False) -> dict[str, Any]:
        """The hall as a screen needs it, with the branch sequence number it is consistent with."""
        hall = self.hall
        hall.serve_newest_model()
        branch = hall.branch(branch_code)
        now = hall.clock()
        with hall.uow.read() as session:
            connection = session.connection()
            seq = hall_reads.branch_seq(connection, branch.code)
            # the public view reads only what it shows (the tickets counters hold, the counts): its cost stays flat
            # however long the queue; only the staff view lists the waiting and parked tickets
            on_floor = tickets.in_states(connection, branch.code, _ON_THE_FLOOR if staff else _AT_COUNTERS)
            waiting_by_service = hall_reads.waiting_by_service(connection, branch.code)
            sessions = counter_sessions.for_branch(connection, branch.code)
            began = DayBoundary.at(branch, now, hall.config.queue.day_end_grace).current_began_at
            recent = hall_reads.recent_calls(session, branch.code, hall.config.queue.recent_calls, began)
            now_in = tickets.states_of(connection, (e.ticket_id for e in recent if e.ticket_id is not None))
            recent = [e for e in recent if e.ticket_id in now_in and now_in[e.ticket_id].keeps_its_call]
            today = service_day(now, branch.timezone)
            issued_today = numbers.issued_on(connection, branch.code, today)
            stops = issue_stops.current(connection, branch.code, now)
        active = {t.counter_number: t for t in on_floor if t.state.holds_counter}
        services = []
        for service in branch.services:
            view = service_view(service, branch)
            view["waiting"] = waiting_by_service.get(service.code, 0)
            view.update(opening_view(branch.opening(service, now)))
            view["issued_today"] = issued_today.get(service.code, 0)
            view["daily_cap_reached"] = (service.daily_cap is not None
                                         and issued_today.get(service.code, 0) >= service.daily_cap)
            stopped = blocking(stops, service.code, now)
            view["stopped"] = None if stopped is None else stopped.view()
            until = self.tickets_until(branch, service, now)
            view["resumes_at"] = iso(issue_resumes_at(branch, service, stops, now, until))
            view["tickets_until"] = iso(until)
            view["last_ticket_passed"] = until is not None and now >= until
            if view["last_ticket_passed"] and view["open"]:  # closed for tickets today: when it takes them again
                view["opens_at"] = iso(reopens_after_today(branch, service, now))
            services.append(view)
        result: dict[str, Any] = {
            "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key,
                       "hours": str(branch.hours.default),
                       "hours_today": str(branch.schedule.hours_on(today)),
                       "closes_at": iso(branch.closes_at(today))},
            "seq": seq,
            "generated_at": now.isoformat(),
            "categories": [{"code": c.code, "name": c.name.as_dict(), "icon": c.icon, "colour": c.colour}
                           for c in branch.categories],
            "services": services,
            "counters": [counter_view(c, sessions.get(c.number), active.get(c.number), branch, staff=staff,
                                        names=hall.config.display_name)
                         for c in branch.counters],
            "recent_calls": [{"number": e.ticket_number, "counter": e.counter_number, "service": e.service_code,
                              "kind": e.kind, "at": iso(e.at), "seq": e.seq} for e in recent],
            "waiting_total": sum(waiting_by_service.values()),
            "issue_stops": [stop.view() for stop in stops],
        }
        if staff:
            result["waiting"] = [ticket_staff(t, branch) for t in on_floor if t.state is TicketState.WAITING]
            result["parked"] = [ticket_staff(t, branch) for t in on_floor if t.state is TicketState.PARKED]
        return result

    def tickets_until(self, branch: Branch, service: Service, now: datetime) -> datetime | None:
        """Today's last-ticket time of a service with a ``last_ticket`` rule (``auto``: from the live estimate)."""
        if service.last_ticket is None:
            return None
        estimate = (self.hall.estimates.new_ticket_estimate(branch.code, service.code)
                    if self.hall.estimates is not None else None)
        return tickets_until(service.last_ticket, branch.opening(service, now).closes_at, branch.timezone,
                             wait_high=estimate.high if estimate is not None and estimate.known else None,
                             service_time=service.expected_service)

    def counter_public(self, branch_code: str, counter_number: str) -> dict[str, Any]:
        """One counter as its own screens show it (counter display, rating pad): the public view plus
        the display name of the staff member at it, which the customer at that counter may see."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.read() as session:
            connection = session.connection()
            counter_session = counter_sessions.get(connection, branch.code, counter.number)
            current = tickets.at_counter(connection, branch.code, counter.number)
            view = counter_view(counter, counter_session, current, branch)
        staff = counter_session.staff_username if counter_session else None
        account = hall.config.account(staff) if staff else None
        view["staff_display_name"] = account.display_name if account else None
        view["staff_photo"] = account.photo if account else None
        return view

    def counter_queue(self, branch_code: str, counter_number: str) -> dict[str, Any]:
        """The waiting tickets this counter may call (with today's services), in the order it would call them,
        its parked ones, and the counter itself (staff view: status, services, current ticket), all as of
        the branch sequence number ``seq``, so that a console can tell a fresher answer from an older one."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.read() as session:
            connection = session.connection()
            seq = hall_reads.branch_seq(connection, branch.code)
            counter_session = counter_sessions.get(connection, branch.code, counter.number)
            current = tickets.at_counter(connection, branch.code, counter.number)
            waiting = tickets.in_states(connection, branch.code, [TicketState.WAITING])
            parked = tickets.in_states(connection, branch.code, [TicketState.PARKED], counter.number)
            no_shows = self._no_shows(connection, branch, counter.number)
        by_id = {t.id: t for t in waiting}
        order = policy.call_order(skills_today(counter, counter_session), [t.queued() for t in waiting], hall.rules)
        return {
            "counter": counter.number,
            "seq": seq,
            "counter_state": counter_view(counter, counter_session, current, branch, staff=True,
                                          names=hall.config.display_name),
            "waiting": [ticket_staff(by_id[q.ticket_id], branch) for q in order],
            "parked": [ticket_staff(t, branch) for t in parked],
            "no_shows": no_shows,
        }

    def _no_shows(self, connection: Connection, branch: Branch, counter_number: str) -> list[dict[str, Any]]:
        """The branch's no-shows that may still go back into the queue (a customer with a printed ticket came
        back), with until when: this counter's first, then the latest first."""
        window = self.hall.config.queue.reactivate_window
        now = self.hall.clock()
        since = now - window
        found = tickets.no_shows_since(connection, branch.code, since, service_day(since, branch.timezone))
        found.sort(key=lambda t: t.counter_number != counter_number)  # stable: the latest first within each part
        return [{**ticket_staff(t, branch), "reactivate_until": iso(until)}
                for t in found[:MAX_NO_SHOWS] if (until := t.reactivate_until(window)) is not None and until >= now]

    def ticket_by_token(self, token: str) -> dict[str, Any]:
        """A customer's own ticket, for the mobile page: state, counter, people ahead."""
        hall = self.hall
        with hall.uow.read() as session:
            connection = session.connection()
            ticket = tickets.by_token(connection, token)
            branch = hall.branch(ticket.branch_code)
            live = hall.estimates.ticket_live(branch.code, ticket.id) if hall.estimates and ticket.id else None
            estimate = live["estimate"] if live and ticket.state is TicketState.WAITING else None
            ahead = held_until = None
            if ticket.state is TicketState.WAITING:
                now = hall.clock()
                ahead = people_ahead(connection, branch, ticket.queued(), hall.rules, now, expected_call(now, estimate))
                held_until = ticket.queued().callable_from
                held_until = held_until if held_until is not None and held_until > now else None
        counter = branch.counter(ticket.counter_number) if ticket.counter_number else None
        service = branch.service(ticket.service_code)
        # a ticket the day's end expired: when its service takes tickets again, so the customer knows when to come
        opening = None
        if ticket.state is TicketState.EXPIRED and service is not None:
            status = opening_view(branch.opening(service, hall.clock()))
            opening = {key: status[key] for key in ("open", "opens_at", "closed_for")}
        return {**ticket_public(ticket, branch), "priority": ticket.priority, "language": ticket.language,
                "people_ahead": ahead, **callable_from(held_until, branch),
                "estimate": estimate, "branch": branch.code, "branch_name": branch.name.as_dict(),
                "counter_name": counter.name.as_dict() if counter else None, "service_opening": opening}

    def events_since(self, branch_code: str, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
        """The branch's event rows after a sequence number (history, audits, catch-up)."""
        branch = self.hall.branch(branch_code)
        with self.hall.uow.read() as session:
            return [{"seq": e.seq, "kind": e.kind, "at": iso(e.at), "ticket_id": e.ticket_id,
                     "ticket_number": e.ticket_number, "service": e.service_code, "counter": e.counter_number,
                     "staff": e.staff_username, "device": e.device, "reason": mask_phone_like(e.reason),
                     "data": json.loads(e.data) if e.data else None}
                    for e in hall_reads.events_after(session, branch.code, after_seq, limit)]


def expected_call(now: datetime, estimate: WaitEstimate | dict[str, Any] | None) -> datetime | None:
    """When a ticket with ``estimate`` (a :class:`WaitEstimate` or the form the live side pushes) is expected to be
    called, counted from ``now``; None when it has no known estimate."""
    if isinstance(estimate, WaitEstimate):
        return now + estimate.expected if estimate.known else None
    given = GivenEstimate.of(estimate)
    return None if given is None else now + timedelta(seconds=given.mid_s)


def people_ahead(connection: Connection, branch: Branch, me: policy.QueuedTicket, rules: policy.PolicyRules,
                 now: datetime | None = None, until: datetime | None = None) -> int:
    """Tickets called before this one at the counter where it is nearest the front (open counters first: see
    :func:`policy.people_ahead`), this one expected to be called at ``until`` (None: not known): a ticket held
    past then is not ahead of it (:func:`policy.called_before`; ``now`` tells which tickets are held).

    Counted by the database over a range of the queue index (:mod:`server.persistence.queue_queries`), so no
    queue is loaded into Python; only the counters that count are asked.
    """
    chosen = counter_sessions.open_counters(connection, branch.code)
    today = [(c.number in chosen, policy.CounterSkills(c.number, services_today(c.services, chosen.get(c.number)),
                                                       c.role)) for c in branch.counters]
    counted = policy.counted_at((is_open, skills) for is_open, skills in today if policy.is_eligible(me, skills))
    counts = count_ahead(connection, branch.code, me, [skills for _, skills in counted], rules)
    if now is not None and until is not None and counted:
        found = held(connection, branch.code, now)
        counts = [count - policy.held_behind(me, skills, found, rules, until)
                  for count, (_, skills) in zip(counts, counted, strict=True)]
    return policy.people_ahead(zip([is_open for is_open, _ in counted], counts, strict=True))


def issue_resumes_at(branch: Branch, service: Service, stops: list[IssueStop], now: datetime,
                     tickets_until: datetime | None = None) -> datetime | None:
    """When ``service`` issues tickets again today after the stops that refuse them now (see
    :func:`server.domain.issuing.resumes_at`): None when they do not refuse it, when one lasts until resumed by hand,
    or when they end only after the service's hours or its last ticket today (a stop "until the end of the day" ends
    after the close: no kiosk should promise tickets then)."""
    at = resumes_at(stops, service.code, now)
    ends = [t for t in (branch.opening(service, now).closes_at, tickets_until) if t is not None]
    return None if at is None or not ends or at >= min(ends) else at


def reopens_after_today(branch: Branch, service: Service, now: datetime) -> datetime | None:
    """When ``service`` takes tickets again after today's close (for a service past its last ticket): its next
    opening then, or the close itself when it opens again at once (a service open around the clock)."""
    closes_at = branch.opening(service, now).closes_at
    if closes_at is None:
        return None
    status = branch.opening(service, closes_at)
    return closes_at if status.open else status.opens_at
