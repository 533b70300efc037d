"""Counter commands: staff sign in and out, pause and resume, and call tickets to their counter.

A takeover (signing in where someone else is signed in) is written to the audit log with who had the counter.

One staff member per counter and one counter per staff member; a counter calls only while it is open,
not paused and free. Call-next asks the database for the head of each group the counter may serve
(:mod:`server.persistence.queue_queries`) and lets the policy (:mod:`server.domain.policy`) choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.domain import policy
from server.domain.audit import AuditAction, target_of
from server.domain.counter_session import CounterChange, CounterSession, choose_services
from server.domain.errors import DomainError
from server.domain.hall import Counter
from server.domain.ticket import Ticket
from server.domain.tickets import TicketState
from server.persistence import counter_sessions, tickets
from server.persistence.queue_queries import count_eligible, next_candidates
from server.services import idempotency
from server.services.access import require_staff
from server.services.actor import Actor
from server.services.context import HallContext
from server.services.unit_of_work import Transaction
from server.services.views import counter_view, skills_today, ticket_staff


class CounterService:
    """Commands on counters, for every branch of one configuration."""

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall

    # --- sessions -----------------------------------------------------------------------------------

    def sign_in(self, branch_code: str, counter_number: str, actor: Actor, *, takeover: bool = False,
                services: Sequence[str] | None = None) -> dict[str, Any]:
        """Claim a counter. One staff member per counter; a staff member holds one counter at a time.

        ``services``: the subset of the counter's configured services to serve today (None: all of them);
        call-next and the counter's queue use only these, in the configured order of preference. Signing in
        again at one's own counter with other services changes them.
        """
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        require_staff(hall.config, actor, branch)
        assert actor.username is not None
        chosen = choose_services(counter.number, counter.services, services)
        with hall.uow.command(branch, hall.clock()) as tx:
            sessions = counter_sessions.for_branch(tx.connection, branch.code)
            session = sessions.get(counter.number) or CounterSession(branch.code, counter.number)
            if session.staff_username == actor.username:
                change = session.change_services(chosen, counter.services) if services is not None else None
                if change is not None:
                    _save(tx, session, change, actor)
                return counter_view(counter, session, holding(tx, counter.number), branch, staff=True,
                                    names=hall.config.display_name)
            if session.staff_username is not None:
                if not takeover:
                    raise DomainError(
                        f"counter {counter.number} is signed in by {session.staff_username}; take over explicitly",
                        code="counter_occupied", signed_in=session.staff_username,
                    )
                hall.audit.record_in(tx.connection, actor, AuditAction.COUNTER_TAKEOVER, branch=branch.code,
                                     target=target_of("counter", counter.number),
                                     before={"staff": session.staff_username}, after={"staff": actor.username})
                tx.record_counter(counter.number, session.take_over(actor.username), actor)
            for other in sessions.values():
                if other.staff_username == actor.username and other.counter_number != counter.number:
                    _close(tx, other, actor, reason=f"moved to counter {counter.number}")
            _save(tx, session, session.sign_in(actor.username, tx.now, chosen, counter.services), actor)
            return counter_view(counter, session, holding(tx, counter.number), branch, staff=True,
                                names=hall.config.display_name)

    def sign_out(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.command(branch, hall.clock()) as tx:
            session = own_session(hall, tx, counter.number, actor)
            _close(tx, session, actor, reason="signed out")
            return counter_view(counter, session, None, branch, staff=True,
                                names=hall.config.display_name)

    def sign_out_account(self, username: str, reason: str = "account_disabled") -> int:
        """Close every counter ``username`` is signed in at, in every branch (their account was disabled or
        removed: nobody could call from those counters any more); how many were closed."""
        hall = self.hall
        closed = 0
        for branch in hall.config.branches:
            with hall.uow.command(branch, hall.clock()) as tx:
                for session in counter_sessions.for_branch(tx.connection, branch.code).values():
                    if session.staff_username == username:
                        _close(tx, session, ACCOUNTS, reason=reason)
                        closed += 1
        return closed

    def pause(self, branch_code: str, counter_number: str, actor: Actor, reason: str) -> dict[str, Any]:
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.command(branch, hall.clock()) as tx:
            session = own_session(hall, tx, counter.number, actor)
            _save(tx, session, session.pause(reason, tx.now, actor.username), actor)
            return counter_view(counter, session, holding(tx, counter.number), branch, staff=True,
                                names=hall.config.display_name)

    def resume(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.command(branch, hall.clock()) as tx:
            session = own_session(hall, tx, counter.number, actor)
            _save(tx, session, session.resume(tx.now, actor.username), actor)
            return counter_view(counter, session, holding(tx, counter.number), branch, staff=True,
                                names=hall.config.display_name)

    # --- calling ------------------------------------------------------------------------------------

    def call_next(self, branch_code: str, counter_number: str, actor: Actor,
                  *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Call the ticket the policy picks for this counter. ``{"ticket": None}`` when nothing waits."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        request = idempotency.Request.of(f"call_next:{counter.number}", idempotency_key, "call_next", counter.number,
                                         actor.username or "")
        hall.end_ended_days(branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            stored = idempotency.replay(tx, request)
            if stored is not None:
                return stored
            response = _call_next(hall, tx, counter, actor)
            idempotency.remember(tx, request, response)
            return response

    def finish_and_call_next(self, branch_code: str, counter_number: str, actor: Actor, *,
                             expected_version: int | None = None,
                             idempotency_key: str | None = None) -> dict[str, Any]:
        """Finish the ticket served at this counter and call the next one, in one command: a clerk serving back to
        back taps once, and the two cannot be split by a failure in between. ``finished`` is the finished ticket;
        ``ticket`` the one now called (None when nobody waits, or the counter is paused: it stays free)."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        request = idempotency.Request.of(f"finish_and_call_next:{counter.number}", idempotency_key,
                                         "finish_and_call_next", counter.number, actor.username or "")
        hall.end_ended_days(branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            stored = idempotency.replay(tx, request)
            if stored is not None:
                return stored
            session = own_session(hall, tx, counter.number, actor)
            served = holding(tx, counter.number)
            if served is None:
                raise DomainError(f"counter {counter.number} serves nobody now; call the next customer instead",
                                  code="nothing_to_finish")
            served.check_version(expected_version)
            change = served.finish(tx.now)
            tickets.save(tx.connection, served)
            tx.record(served, change, actor)
            response: dict[str, Any] = {"ticket": None, "waiting": 0}
            if not session.paused:
                response = _call_next(hall, tx, counter, actor)
            response["finished"] = ticket_staff(served, branch)
            idempotency.remember(tx, request, response)
            return response

    def call_ticket(self, branch_code: str, counter_number: str, ticket_id: int, actor: Actor,
                    *, expected_version: int | None = None) -> dict[str, Any]:
        """Call one specific waiting ticket that this counter may serve."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        hall.end_ended_days(branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            skills = skills_today(counter, _ready_to_call(hall, tx, counter.number, actor))
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            ticket.check_version(expected_version)
            if ticket.state is TicketState.WAITING and not policy.is_eligible(ticket.queued(), skills):
                raise DomainError(f"counter {counter.number} does not serve {ticket.number}; transfer it first",
                                  code="not_eligible")
            _call(tx, ticket, counter.number, actor)
            return {"ticket": ticket_staff(ticket, branch)}


# --- rules shared with the ticket commands --------------------------------------------------------------

def holding(tx: Transaction, counter_number: str) -> Ticket | None:
    """The ticket the counter holds now (called or serving), if any."""
    return tickets.at_counter(tx.connection, tx.branch.code, counter_number)


def own_session(hall: HallContext, tx: Transaction, counter_number: str, actor: Actor) -> CounterSession:
    """The counter's session, which must belong to the actor (a manager may act for any counter)."""
    require_staff(hall.config, actor, tx.branch)
    session = counter_sessions.get(tx.connection, tx.branch.code, counter_number) or CounterSession(
        tx.branch.code, counter_number)
    session.check_held_by(actor.username, manager=actor.is_manager)
    return session


def require_signed_in(tx: Transaction, actor: Actor) -> None:
    """The actor is signed in at some counter of the branch."""
    if counter_sessions.held_by(tx.connection, tx.branch.code, actor.username) is None:
        raise DomainError("sign in to a counter first", code="not_signed_in")


def _ready_to_call(hall: HallContext, tx: Transaction, counter_number: str, actor: Actor) -> CounterSession:
    """The actor's open, unpaused, idle session at the counter (refused otherwise)."""
    session = own_session(hall, tx, counter_number, actor)
    if session.paused:
        raise DomainError(f"counter {counter_number} is paused; resume it to call", code="counter_paused")
    active = holding(tx, counter_number)
    if active is not None:
        raise DomainError(f"counter {counter_number} is still {active.state} with {active.number}; "
                          "finish, return or mark it no-show first", code="counter_busy", current=active.number)
    return session


def _call_next(hall: HallContext, tx: Transaction, counter: Counter, actor: Actor) -> dict[str, Any]:
    """Call the ticket the policy picks for this ready counter; the answer of call-next."""
    skills = skills_today(counter, _ready_to_call(hall, tx, counter.number, actor))
    choice = policy.choose_next(skills, next_candidates(tx.connection, tx.branch.code, skills, hall.rules, tx.now),
                                hall.rules, tx.now)
    if choice is None:
        return {"ticket": None, "waiting": 0}
    ticket = tickets.get(tx.connection, tx.branch.code, choice.ticket_id)
    _call(tx, ticket, counter.number, actor)
    _hold_passed_over(hall, tx, skills, ticket, actor)
    return {"ticket": ticket_staff(ticket, tx.branch), "waiting": count_eligible(tx.connection, tx.branch.code, skills)}


def _hold_passed_over(hall: HallContext, tx: Transaction, counter: policy.CounterSkills, called: Ticket,
                      actor: Actor) -> None:
    """The remote tickets not checked in that this counter would have called before ``called`` are held aside from
    now: their check-in time starts running (server/domain/remote.py). A few rows of a partial index; none at all
    in a hall that takes no tickets from phones."""
    waiting = tickets.awaiting(tx.connection, tx.branch.code, counter.services)
    mine = policy.call_key(called.queued(), counter, hall.rules)
    for ticket in waiting:
        queued = ticket.queued()
        if not policy.is_eligible(queued, counter) or policy.call_key(queued, counter, hall.rules) >= mine:
            continue
        change = ticket.hold_aside(tx.now)
        if change is not None:
            tickets.save(tx.connection, ticket)
            tx.record(ticket, change, actor)


def _call(tx: Transaction, ticket: Ticket, counter_number: str, actor: Actor) -> None:
    change = ticket.call(counter_number, actor.username, tx.now, today=tx.today)
    tickets.save(tx.connection, ticket)
    tx.record(ticket, change, actor)


def _save(tx: Transaction, session: CounterSession, change: CounterChange, actor: Actor) -> None:
    counter_sessions.save(tx.connection, session)
    tx.record_counter(session.counter_number, change, actor)


ACCOUNTS = Actor(username=None, role="system", device="accounts")
"""Who closes the counters of an account that was disabled."""


def _close(tx: Transaction, session: CounterSession, actor: Actor, *, reason: str) -> None:
    active = holding(tx, session.counter_number)
    held = (active.number, active.state.value) if active is not None else (None, None)
    _save(tx, session, session.sign_out(reason, *held), actor)
