"""Counter commands: staff sign in and out, pause and resume, and call tickets to their counter.

One staff member per counter and one counter per staff member; a counter calls only while it is open,
not paused and free. Call-next asks the database for the head of each group the counter may serve
(:mod:`server.persistence.queue_queries`) and lets the policy (:mod:`server.domain.policy`) choose.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from server.config import Counter
from server.domain import policy
from server.domain.errors import DomainError, NotAllowed
from server.domain.ticket import Ticket
from server.domain.tickets import EventKind, TicketState
from server.persistence import counter_sessions, tickets
from server.persistence.queue_queries import count_eligible, next_candidates
from server.persistence.tables import CounterSession
from server.services import idempotency
from server.services.actor import Actor
from server.services.context import HallContext, require_staff
from server.services.unit_of_work import Transaction
from server.services.views import counter_status, counter_view, skills_today, ticket_staff


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
        chosen = _chosen_services(counter, services)
        with hall.uow.command(branch, hall.clock()) as tx:
            sessions = counter_sessions.for_branch(tx.session, branch.code)
            session = sessions.get(counter.number)
            if session is None:
                session = CounterSession(branch_code=branch.code, counter_number=counter.number)
                tx.session.add(session)
            if session.staff_username == actor.username:
                if services is not None and session.services != chosen:
                    session.services = chosen
                    today = list(skills_today(counter, session).services)
                    tx.emit(EventKind.COUNTER_SIGNED_IN, counter=counter.number, staff=actor.username,
                            device=actor.device, reason="services changed", data={"services": today},
                            public={"status": counter_status(session), "services": today})
                return counter_view(counter, session, holding(tx, counter.number), branch, staff=True)
            if session.staff_username is not None:
                if not takeover:
                    raise DomainError(
                        f"counter {counter.number} is signed in by {session.staff_username}; take over explicitly",
                        code="counter_occupied", signed_in=session.staff_username,
                    )
                tx.emit(EventKind.COUNTER_SIGNED_OUT, counter=counter.number, staff=session.staff_username,
                        reason=f"taken over by {actor.username}", public={"status": "closed"})
            for other in sessions.values():
                if other.staff_username == actor.username and other.counter_number != counter.number:
                    _close(tx, other, reason=f"moved to counter {counter.number}")
            session.staff_username = actor.username
            session.signed_in_at = tx.now
            session.paused = False
            session.pause_reason = None
            session.paused_at = None
            session.services = chosen
            today = list(skills_today(counter, session).services)
            tx.emit(EventKind.COUNTER_SIGNED_IN, counter=counter.number, staff=actor.username, device=actor.device,
                    data={"services": today}, public={"status": "open", "services": today})
            return counter_view(counter, session, holding(tx, counter.number), branch, staff=True)

    def sign_out(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.command(branch, hall.clock()) as tx:
            session = own_session(hall, tx, counter.number, actor)
            _close(tx, session, reason="signed out")
            return counter_view(counter, session, None, branch, staff=True)

    def pause(self, branch_code: str, counter_number: str, actor: Actor, reason: str) -> dict[str, Any]:
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.command(branch, hall.clock()) as tx:
            session = own_session(hall, tx, counter.number, actor)
            if session.paused:
                raise DomainError(f"counter {counter.number} is already paused", code="already_paused")
            session.paused, session.pause_reason, session.paused_at = True, reason, tx.now
            tx.emit(EventKind.COUNTER_PAUSED, counter=counter.number, staff=actor.username, reason=reason,
                    public={"status": "paused"})
            return counter_view(counter, session, holding(tx, counter.number), branch, staff=True)

    def resume(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        with hall.uow.command(branch, hall.clock()) as tx:
            session = own_session(hall, tx, counter.number, actor)
            if not session.paused:
                raise DomainError(f"counter {counter.number} is not paused", code="not_paused")
            paused_for = (tx.now - session.paused_at).total_seconds() if session.paused_at else None
            session.paused, session.pause_reason, session.paused_at = False, None, None
            tx.emit(EventKind.COUNTER_RESUMED, counter=counter.number, staff=actor.username,
                    data={"paused_seconds": paused_for}, public={"status": "open"})
            return counter_view(counter, session, holding(tx, counter.number), branch, staff=True)

    # --- calling ------------------------------------------------------------------------------------

    def call_next(self, branch_code: str, counter_number: str, actor: Actor,
                  *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Call the ticket the policy picks for this counter. ``{"ticket": None}`` when nothing waits."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
        request = idempotency.Request.of(f"call_next:{counter.number}", idempotency_key, "call_next", counter.number,
                                         actor.username or "")
        with hall.uow.command(branch, hall.clock()) as tx:
            stored = idempotency.replay(tx, request)
            if stored is not None:
                return stored
            skills = skills_today(counter, _ready_to_call(hall, tx, counter.number, actor))
            choice = policy.choose_next(skills, next_candidates(tx.connection, branch.code, skills, hall.rules),
                                        hall.rules)
            response: dict[str, Any] = {"ticket": None, "waiting": 0}
            if choice is not None:
                ticket = tickets.get(tx.connection, branch.code, choice.ticket_id)
                _call(tx, ticket, counter.number, actor)
                response = {"ticket": ticket_staff(ticket, branch),
                            "waiting": count_eligible(tx.connection, branch.code, skills)}
            idempotency.remember(tx, request, response)
            return response

    def call_ticket(self, branch_code: str, counter_number: str, ticket_id: int, actor: Actor,
                    *, expected_version: int | None = None) -> dict[str, Any]:
        """Call one specific waiting ticket that this counter may serve."""
        hall = self.hall
        branch = hall.branch(branch_code)
        counter = hall.counter(branch, counter_number)
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
    session = counter_sessions.get(tx.session, tx.branch.code, counter_number)
    if session is None or session.staff_username is None:
        raise DomainError(f"nobody is signed in at counter {counter_number}", code="counter_closed")
    if session.staff_username != actor.username and not actor.is_manager:
        raise NotAllowed(f"counter {counter_number} is signed in by {session.staff_username}, not you",
                         code="not_your_counter")
    return session


def require_signed_in(tx: Transaction, actor: Actor) -> None:
    """The actor is signed in at some counter of the branch."""
    if counter_sessions.held_by(tx.session, tx.branch.code, actor.username) is None:
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


def _call(tx: Transaction, ticket: Ticket, counter_number: str, actor: Actor) -> None:
    change = ticket.call(counter_number, actor.username, tx.now)
    tickets.save(tx.connection, ticket)
    tx.record(ticket, change, actor)


def _close(tx: Transaction, session: CounterSession, *, reason: str) -> None:
    active = holding(tx, session.counter_number)
    if active is not None:
        raise DomainError(f"counter {session.counter_number} still has {active.number} ({active.state}); "
                          "finish it first", code="counter_busy", current=active.number)
    staff = session.staff_username
    session.staff_username, session.signed_in_at = None, None
    session.paused, session.pause_reason, session.paused_at = False, None, None
    session.services = None
    tx.emit(EventKind.COUNTER_SIGNED_OUT, counter=session.counter_number, staff=staff, reason=reason,
            public={"status": "closed"})


def _chosen_services(counter: Counter, services: Sequence[str] | None) -> str | None:
    """Validate a sign-in's services against the counter's configured ones (the maximum the manager allows).

    Returns what ``counter_session.services`` stores: a JSON list in the configured order, or None for all.
    """
    if services is None:
        return None
    if not services:
        raise DomainError("choose at least one service for today", code="no_services", http_status=422)
    unknown = [code for code in services if code not in counter.services]
    if unknown:
        raise DomainError(
            f"counter {counter.number} does not serve {unknown[0]!r} (it may serve {', '.join(counter.services)})",
            code="service_not_at_counter", http_status=422, services=unknown, allowed=list(counter.services))
    chosen = [code for code in counter.services if code in set(services)]
    return None if len(chosen) == len(counter.services) else json.dumps(chosen)



