"""Ticket commands: issue, the customer's cancel and "I missed my call", and staff acting on a ticket.

Each command runs in one transaction (:mod:`server.services.unit_of_work`): load the ticket, let it
change itself (:class:`server.domain.ticket.Ticket`), save it and record the event it returned. Issue
takes an idempotency key, so a kiosk that retries never gets a second ticket. A no-show that staff mark is written
to the audit log too (the end of a day's expiries are not: they are in the ticket's own events).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from server.domain.api_tokens import Scope
from server.domain.audit import AuditAction, target_of
from server.domain.errors import DomainError, IllegalTransition
from server.domain.hall import Branch, Service
from server.domain.issuing import LastTicketPassed, blocking, tickets_until
from server.domain.limits import IssueCaller
from server.domain.numbering import format_number, service_day
from server.domain.ticket import COUNTER_ACTIONS, Ticket, TicketChange
from server.domain.tickets import Action, PriorityClass, TicketState, next_state
from server.persistence import hall_reads, issue_stops, numbers, tickets
from server.services import idempotency
from server.services.access import require_service, require_staff, require_ticket_class
from server.services.actor import CUSTOMER, Actor
from server.services.context import HallContext
from server.services.counters import holding, own_session, require_signed_in
from server.services.limits import IssueLimiter
from server.services.queries import expected_call, issue_resumes_at, people_ahead, reopens_after_today
from server.services.unit_of_work import Transaction
from server.services.views import iso, ticket_public, ticket_staff


class TicketService:
    """Commands on tickets, for every branch of one configuration."""

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall
        self.limiter = IssueLimiter(hall.config)

    # --- customers --------------------------------------------------------------------------------

    def issue(self, branch_code: str, service_code: str, *, priority: PriorityClass = PriorityClass.NORMAL,
              channel: str = "kiosk", language: str = "zh-CN", idempotency_key: str | None = None,
              device: str | None = None, actor: Actor = CUSTOMER, address: str | None = None) -> dict[str, Any]:
        """Take a number. Returns the ticket (with its private token) and the people ahead of it. Who may take
        which class (VIP and appointment: staff of the branch and integrations; the priority lane: also a paired
        kiosk, or anyone where the branch allows it) is :func:`~server.services.access.require_ticket_class`. A
        caller from ``address`` (the client's
        network address) is held to the limits on taking tickets (429 ``too_many_tickets`` /
        ``too_many_open_tickets``: :mod:`server.domain.limits`); a retry of a ticket it was given is answered."""
        hall = self.hall
        branch = hall.branch(branch_code)
        service = require_service(branch, service_code)
        require_ticket_class(hall.config, actor, branch, priority)
        request = idempotency.Request.of("issue", idempotency_key, "issue", service_code, priority.value, channel,
                                         language)
        caller = self.limiter.caller(branch, actor, address, device)
        if caller is not None:
            self._refuse_early(branch, caller, request)
        refreshed = self.prepare_issue(branch, service.code, priority)
        with hall.uow.command(branch, hall.clock()) as tx:
            stored = idempotency.replay(tx, request)
            if stored is not None:
                return stored
            if caller is not None:
                self.limiter.check(tx.connection, branch, caller, tx.now)
            response = self.issue_within(tx, service, priority=priority, channel=channel, language=language,
                                         device=device, actor=actor, caller=caller, refreshed=refreshed)
            idempotency.remember(tx, request, response)
            return response

    def prepare_issue(self, branch: Branch, service_code: str, priority: PriorityClass) -> dict[str, Any] | None:
        """What an issue does before its transaction: end the days that ended, and the tile's estimate (for the
        last-ticket rule) that :meth:`issue_within` takes as ``refreshed``."""
        self.hall.end_ended_days(branch)
        return self._new_ticket_estimate(branch, service_code, priority)

    def issue_within(self, tx: Transaction, service: Service, *, priority: PriorityClass, channel: str,
                     language: str, device: str | None, actor: Actor, caller: IssueCaller | None = None,
                     refreshed: dict[str, Any] | None = None, not_before: datetime | None = None,
                     remote: bool = False) -> dict[str, Any]:
        """The issue itself, in the caller's transaction: the service open and issuing, a number, the ticket and
        its event. A booking's check-in issues through here, linking the ticket in the same transaction;
        ``not_before`` holds an early appointment until its slot starts (:func:`server.domain.policy.is_callable`);
        ``remote`` marks a ticket taken on a phone, not called until it checks in (:mod:`server.services.remote`).
        Answers the ticket with its private token and the people ahead of it."""
        hall = self.hall
        branch = tx.branch
        branch.require_open(service, tx.now)
        closes_at = branch.opening(service, tx.now).closes_at
        until = tickets_until(service.last_ticket, closes_at, branch.timezone, wait_high=_wait_high(refreshed),
                              service_time=service.expected_service)
        if until is not None and closes_at is not None and tx.now >= until:
            raise LastTicketPassed(service.name.en, until, reopens_after_today(branch, service, tx.now))
        stops = issue_stops.current(tx.connection, branch.code, tx.now)
        stopped = blocking(stops, service.code, tx.now)
        if stopped is not None:
            raise DomainError(f"{service.name.en} is not issuing tickets now: {stopped.reason.en}",
                              code="issuing_stopped", reason=stopped.reason.as_dict(),
                              until=None if stopped.ends_at is None else stopped.ends_at.isoformat(),
                              resumes_at=iso(issue_resumes_at(branch, service, stops, tx.now, until)))
        day = service_day(tx.now, branch.timezone)
        last, issued = numbers.current(tx.connection, branch.code, service.code, day, service.start_number)
        if service.daily_cap is not None and issued >= service.daily_cap:
            raise DomainError(f"{service.name.en} has issued its {service.daily_cap} tickets for today",
                              code="daily_cap_reached", daily_cap=service.daily_cap)
        numbers.advance(tx.connection, branch.code, service.code, day, last + 1, issued + 1)
        ticket, change = Ticket.issue(
            branch_code=branch.code, service_code=service.code, day=day, sequence=last + 1,
            number=format_number(service.prefix, last + 1, service.number_width), priority=priority,
            channel=channel, language=language, now=tx.now, rules=hall.rules, not_before=not_before,
            remote=remote)
        tickets.add(tx.connection, ticket)
        if caller is not None:
            assert ticket.id is not None
            self.limiter.record(tx.connection, ticket.id, branch, caller, tx.now)
        queued = ticket.queued()
        tile = hall.estimates.new_ticket_estimate(branch.code, service.code, priority) if hall.estimates else None
        ahead = people_ahead(tx.connection, branch, queued, hall.rules, tx.now, expected_call(tx.now, tile))
        # the estimate it is promised counts the people ahead of it now, not at the last refresh
        estimate = self._new_ticket_estimate(branch, service.code, priority, ahead, queued.callable_from, tx.now)
        change = replace(change, data={**change.data, "estimate": estimate})
        # the ticket that fills the day's cap tells every kiosk at once, not at its next refused tap
        full = service.daily_cap is not None and issued + 1 >= service.daily_cap
        tx.record(ticket, change, Actor(username=actor.username, role=actor.role, device=device),
                  public={"daily_cap_reached": True} if full else None)
        return {
            **ticket_public(ticket, branch),
            "token": ticket.token,
            "priority": ticket.priority,
            "people_ahead": ahead,
            "estimate": estimate,
        }

    def cancel_by_customer(self, token: str) -> dict[str, Any]:
        """The customer leaves ("I'm leaving"): a waiting ticket is cancelled."""
        with self._customer_ticket(token) as (tx, ticket):
            self._save(tx, ticket, ticket.cancel(tx.now), CUSTOMER)
            return ticket_public(ticket, tx.branch)

    def reactivate_by_customer(self, token: str) -> dict[str, Any]:
        """"I missed my call": a no-show ticket goes back into the queue within the configured window."""
        with self._customer_ticket(token) as (tx, ticket):
            self._save(tx, ticket, self._reactivated(tx, ticket), CUSTOMER)
            return ticket_public(ticket, tx.branch)

    # --- staff --------------------------------------------------------------------------------------

    def act(self, branch_code: str, ticket_id: int, action: Action, actor: Actor, *,
            expected_version: int | None = None, reason: str | None = None) -> dict[str, Any]:
        """Recall, start, finish, no-show, return to queue, park or resume a ticket at the actor's counter."""
        if action not in COUNTER_ACTIONS:
            raise ValueError(f"{action} has its own command")
        hall = self.hall
        branch = hall.branch(branch_code)
        with hall.uow.command(branch, hall.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            ticket.check_version(expected_version)
            counter_number = ticket.counter_number
            if counter_number is None:
                next_state(ticket.state, action)  # raises the readable illegal-transition error
                raise IllegalTransition(f"{ticket.number} is not at a counter")
            own_session(hall, tx, counter_number, actor)
            if action is Action.RESUME:
                active = holding(tx, counter_number)
                if active is not None:
                    raise DomainError(f"counter {counter_number} is busy with {active.number}; finish it before "
                                      f"resuming {ticket.number}", code="counter_busy", current=active.number)
            was = ticket.state
            self._save(tx, ticket, ticket.at_counter(action, tx.now, reason), actor)
            answer: dict[str, Any] = {"ticket": ticket_staff(ticket, branch)}
            if action is Action.NO_SHOW:
                answer["undo_until"] = iso(tx.now + hall.config.queue.undo_no_show)
                hall.audit.record_in(tx.connection, actor, AuditAction.NO_SHOW, branch=branch.code,
                                     target=target_of("ticket", ticket.number),
                                     before={"state": was.value, "counter": counter_number},
                                     after={"state": ticket.state.value, "counter": counter_number,
                                            **({"reason": reason} if reason else {})})
            return answer

    def undo_no_show(self, branch_code: str, ticket_id: int, actor: Actor, *, expected_version: int | None = None,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        """Take back a no-show marked by mistake, within ``[queue] undo_no_show_s``: the ticket is called at its
        counter again as it was. Refused once that counter has taken up another customer (``counter_moved_on``)
        or is paused; a retry with the same Idempotency-Key gets the first answer."""
        hall = self.hall
        branch = hall.branch(branch_code)
        request = idempotency.Request.of(f"undo_no_show:{ticket_id}", idempotency_key, "undo_no_show",
                                         str(ticket_id), str(expected_version), actor.username or "")
        with hall.uow.command(branch, hall.clock()) as tx:
            stored = idempotency.replay(tx, request)
            if stored is not None:
                return stored
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            ticket.check_version(expected_version)
            counter_number = ticket.counter_number
            if ticket.state is not TicketState.NO_SHOW or counter_number is None:
                next_state(ticket.state, Action.UNDO_NO_SHOW)  # raises the readable illegal-transition error
                raise IllegalTransition(f"{ticket.number} is not at a counter")
            session = own_session(hall, tx, counter_number, actor)
            active = holding(tx, counter_number)
            since = active.number if active is not None else hall_reads.taken_up_since_no_show(
                tx.connection, branch.code, counter_number, ticket_id)
            if since is not None:
                raise DomainError(f"counter {counter_number} has taken up {since} since {ticket.number} was marked "
                                  f"no-show; re-activate {ticket.number} instead", code="counter_moved_on",
                                  current=since)
            if session.paused:
                raise DomainError(f"counter {counter_number} is paused; resume it to call {ticket.number} again",
                                  code="counter_paused")
            change = ticket.undo_no_show(tx.now, window=hall.config.queue.undo_no_show, today=tx.today)
            self._save(tx, ticket, change, actor)
            response = {"ticket": ticket_staff(ticket, branch)}
            idempotency.remember(tx, request, response)
            return response

    def transfer(self, branch_code: str, ticket_id: int, actor: Actor, *, to_service: str | None = None,
                 to_counter: str | None = None, note: str | None = None,
                 expected_version: int | None = None) -> dict[str, Any]:
        """Send a waiting, called or serving ticket to another service and/or a specific counter."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_staff(hall.config, actor, branch)
        if to_service is None and to_counter is None:
            raise DomainError("say where to transfer: to_service, to_counter or both", code="transfer_target_missing",
                              http_status=422)
        if to_service is not None:
            require_service(branch, to_service)
        if to_counter is not None:
            hall.counter(branch, to_counter)
        with hall.uow.command(branch, hall.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            ticket.check_version(expected_version)
            if ticket.counter_number is not None:
                own_session(hall, tx, ticket.counter_number, actor)
            elif not actor.is_manager:
                require_signed_in(tx, actor)
            from_service = ticket.service_code
            change = ticket.transfer(tx.now, to_service=to_service, to_counter=to_counter, note=note,
                                     rules=hall.rules)
            self._save(tx, ticket, change, actor, public={"from_service": from_service, "to_counter": to_counter})
            return {"ticket": ticket_staff(ticket, branch)}

    def cancel(self, branch_code: str, ticket_id: int, actor: Actor, *,
               expected_version: int | None = None) -> dict[str, Any]:
        """Staff of the branch, or an integration that may act there (a booking system whose customer cancelled),
        cancel a waiting ticket."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_staff(hall.config, actor, branch, token_scope=Scope.ACT)
        with hall.uow.command(branch, hall.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            ticket.check_version(expected_version)
            self._save(tx, ticket, ticket.cancel(tx.now), actor)
            return {"ticket": ticket_staff(ticket, branch)}

    def reactivate(self, branch_code: str, ticket_id: int, actor: Actor) -> dict[str, Any]:
        """Staff put a no-show back into the queue (the customer came back to the counter)."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_staff(hall.config, actor, branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            self._save(tx, ticket, self._reactivated(tx, ticket), actor)
            return {"ticket": ticket_staff(ticket, branch)}

    # --- internals ----------------------------------------------------------------------------------

    def _refuse_early(self, branch: Branch, caller: IssueCaller, request: idempotency.Request) -> None:
        """Refuse a caller past its limit on a read connection, before it waits for the write lock that the
        kiosks need; a retry of a ticket already given is let through to be answered."""
        hall = self.hall
        with hall.uow.read() as session:
            connection = session.connection()
            found = self.limiter.refusal(connection, branch, caller, hall.clock())
            if found is None or idempotency.stored(connection, branch.code, request):
                return
        self.limiter.hold_back()
        raise found

    @staticmethod
    def _save(tx: Transaction, ticket: Ticket, change: TicketChange, actor: Actor,
              public: dict[str, Any] | None = None) -> None:
        tickets.save(tx.connection, ticket)
        tx.record(ticket, change, actor, public=public)

    def _reactivated(self, tx: Transaction, ticket: Ticket) -> TicketChange:
        return ticket.reactivate(tx.now, window=self.hall.config.queue.reactivate_window, rules=self.hall.rules,
                                 today=tx.today)

    @contextmanager
    def _customer_ticket(self, token: str) -> Iterator[tuple[Transaction, Ticket]]:
        """A command transaction on the ticket a customer's private token names."""
        hall = self.hall
        with hall.uow.read() as session:
            branch_code, ticket_id = tickets.locate(session.connection(), token)
        with hall.uow.command(hall.branch(branch_code), hall.clock()) as tx:
            yield tx, tickets.get(tx.connection, branch_code, ticket_id)

    def _new_ticket_estimate(self, branch: Branch, service_code: str, priority: PriorityClass,
                             people_ahead: int | None = None, callable_from: datetime | None = None,
                             now: datetime | None = None) -> dict[str, Any] | None:
        """The estimate a new ticket with ``people_ahead`` is given (shown, printed, and stored for the accuracy
        record); without ``people_ahead``, the last refresh's, as the kiosk tile shows it. A ticket held until
        ``callable_from`` is not promised a call before then."""
        if self.hall.estimates is None:
            return None
        estimate = self.hall.estimates.new_ticket_estimate(branch.code, service_code, priority,
                                                           people_ahead=people_ahead)
        if estimate is not None and callable_from is not None and now is not None:
            estimate = estimate.at_least(callable_from - now)
        return None if estimate is None else estimate.as_dict()


def _wait_high(estimate: dict[str, Any] | None) -> timedelta | None:
    """The upper end of a new ticket's estimated wait, when the estimate is known."""
    if not estimate or not estimate.get("known"):
        return None
    return timedelta(minutes=float(estimate["high_min"]))
