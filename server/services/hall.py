"""The hall's commands and queries: every state change of tickets and counters goes through here.

Each command runs in one transaction (see :mod:`server.services.unit_of_work`). Commands a device may
retry take an idempotency key: the first answer is stored in the same transaction and returned again
for a retry, so a retry can never issue a second ticket nor call a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any, Protocol, cast

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlmodel import Session

from server.config import Branch, Counter, HallConfig, Service
from server.domain import policy
from server.domain.errors import DomainError, IllegalTransition, NotAllowed, NotFound, StaleState
from server.domain.estimation import WaitEstimate
from server.domain.numbering import format_number, local_time, service_day
from server.domain.tickets import (
    ACTION_EVENT,
    Action,
    EventKind,
    PriorityClass,
    TicketState,
    new_token,
    next_state,
    require_token,
)
from server.persistence.queue_queries import count_ahead, count_eligible, next_candidates
from server.persistence.raw import RawStatement
from server.persistence.tables import (
    BranchSequence,
    CounterSession,
    IdempotencyRecord,
    NumberSequence,
    Ticket,
    TicketEvent,
)
from server.services.access import require_branch, require_counter, require_staff
from server.services.actor import CUSTOMER, Actor, Clock, utc_now
from server.services.unit_of_work import Transaction, UnitOfWork
from server.services.views import (
    chosen_services,
    counter_status,
    counter_view,
    iso,
    service_view,
    skills_today,
    ticket_public,
    ticket_staff,
)


class EstimateSource(Protocol):
    """The live side's latest wait estimates (see :class:`server.services.live.LiveHall`)."""

    def new_ticket_estimate(self, branch_code: str, service_code: str,
                            priority: PriorityClass = ...) -> WaitEstimate | None: ...

    def ticket_live(self, branch_code: str, ticket_id: int) -> dict[str, Any] | None: ...


ACTIVE_STATES = (TicketState.CALLED.value, TicketState.SERVING.value)


class HallService:
    """Commands and queries for every branch of one configuration."""

    def __init__(self, config: HallConfig, uow: UnitOfWork, clock: Clock = utc_now,
                 estimates: EstimateSource | None = None) -> None:
        self.config = config
        self.uow = uow
        self.clock = clock
        self.rules = config.queue.policy
        self.estimates = estimates

    # --- set-up -----------------------------------------------------------------------------------

    def ensure_branches(self) -> None:
        """Create the per-branch rows a command expects (sequence, counter sessions); idempotent."""
        for branch in self.config.branches:
            with self.uow.command(branch, self.clock()) as tx:
                existing = set(tx.session.execute(
                    select(CounterSession.counter_number).where(CounterSession.branch_code == branch.code)
                ).scalars())
                for counter in branch.counters:
                    if counter.number not in existing:
                        tx.session.add(CounterSession(branch_code=branch.code, counter_number=counter.number))
                self._rekey_waiting(tx.connection, branch)

    def _rekey_waiting(self, connection: Connection, branch: Branch) -> None:
        """Re-derive the waiting tickets' queue keys: the configured head starts may have changed since."""
        rows = connection.execute(
            select(_TICKETS.id, _TICKETS.service_code, _TICKETS.priority, _TICKETS.queued_at, _TICKETS.target_counter,
                   _TICKETS.transferred, _TICKETS.queue_key_us)
            .where(_TICKETS.branch_code == branch.code, _TICKETS.state == TicketState.WAITING.value))
        changed = []
        for row in rows:
            queued = policy.QueuedTicket(row[0], row[1], PriorityClass(row[2]), row[3], row[4], bool(row[5]))
            key = policy.queue_key_us(queued, self.rules)
            if key != row[6]:
                changed.append({"ticket_id": row[0], "key": key})
        if changed:
            connection.execute(update(Ticket.__table__).where(_TICKETS.id == bindparam("ticket_id"))
                               .values(queue_key_us=bindparam("key")), changed)

    def purge_idempotency_records(self) -> int:
        cutoff = self.clock() - self.config.queue.idempotency_ttl
        with Session(self.uow.engine) as session, session.begin():
            result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    def branch(self, code: str) -> Branch:
        return require_branch(self.config, code)

    # --- customer commands ------------------------------------------------------------------------

    def issue_ticket(
        self,
        branch_code: str,
        service_code: str,
        *,
        priority: PriorityClass = PriorityClass.NORMAL,
        channel: str = "kiosk",
        language: str = "zh-CN",
        idempotency_key: str | None = None,
        device: str | None = None,
    ) -> dict[str, Any]:
        """Take a number. Returns the ticket (with its private token) and the people ahead of it."""
        branch = self.branch(branch_code)
        service = branch.service(service_code)
        if service is None:
            raise NotFound(f"branch {branch.code} has no service {service_code!r}", code="unknown_service")
        fingerprint = _fingerprint("issue", service_code, priority.value, channel, language)
        estimate = self._new_ticket_estimate(branch, service.code, priority)
        with self.uow.command(branch, self.clock()) as tx:
            stored = _stored_response(tx, branch, "issue", idempotency_key, fingerprint)
            if stored is not None:
                return stored
            now_local = local_time(tx.now, branch.timezone)
            if not service.hours.is_open(now_local):
                raise DomainError(
                    f"{service.name.en} is closed now; opening hours {service.hours}",
                    code="service_closed", hours=str(service.hours),
                )
            day = service_day(tx.now, branch.timezone)
            sequence = _next_number(tx, service, day)
            values: dict[str, Any] = {column: None for column in _TICKET_COLUMNS}
            values.update(
                token=new_token(),
                branch_code=branch.code,
                service_code=service.code,
                issued_service_code=service.code,
                service_day=day,
                sequence=sequence,
                number=format_number(service.prefix, sequence, service.number_width),
                priority=priority.value,
                state=TicketState.WAITING.value,
                channel=channel,
                language=language,
                issued_at=tx.now,
                queued_at=tx.now,
                queue_key_us=policy.queue_key_us(policy.QueuedTicket(0, service.code, priority, tx.now), self.rules),
                recall_count=0,
                transferred=False,
                version=1,
            )
            row = _INSERT_TICKET.first(tx.connection, values)
            assert row is not None
            # the issue path needs no ORM object: a plain record with the same attributes serves the views
            ticket = cast(Ticket, SimpleNamespace(id=int(row[0]), **values))
            tx.emit(EventKind.ISSUED, ticket=ticket, device=device,
                    data={"priority": priority.value, "channel": channel, "estimate": estimate},
                    public={"ticket": ticket_public(ticket, branch)})
            response = {
                **ticket_public(ticket, branch),
                "token": ticket.token,
                "priority": ticket.priority,
                "people_ahead": self._people_ahead(tx.connection, branch, _queued(ticket)),
                "estimate": estimate,
            }
            _store_response(tx, branch, "issue", idempotency_key, fingerprint, response)
            return response

    def cancel_by_customer(self, token: str) -> dict[str, Any]:
        """The customer leaves ("I'm leaving"): a waiting ticket is cancelled."""
        branch, ticket_id = self._locate_token(token)
        with self.uow.command(branch, self.clock()) as tx:
            ticket = load_ticket(tx.session, branch, ticket_id)
            self._transition(tx, ticket, Action.CANCEL, CUSTOMER, counter=None)
            ticket.cancelled_at = tx.now
            return ticket_public(ticket, branch)

    def reactivate_by_customer(self, token: str) -> dict[str, Any]:
        """"I missed my call": a no-show ticket goes back into the queue within the configured window."""
        branch, ticket_id = self._locate_token(token)
        with self.uow.command(branch, self.clock()) as tx:
            ticket = load_ticket(tx.session, branch, ticket_id)
            self._reactivate(tx, ticket, CUSTOMER)
            return ticket_public(ticket, branch)

    # --- staff: counter sessions ------------------------------------------------------------------

    def sign_in(self, branch_code: str, counter_number: str, actor: Actor, *, takeover: bool = False,
                services: Sequence[str] | None = None) -> dict[str, Any]:
        """Claim a counter. One staff member per counter; a staff member holds one counter at a time.

        ``services``: the subset of the counter's configured services to serve today (None: all of them);
        call-next and the counter's queue use only these, in the configured order of preference. Signing in
        again at one's own counter with other services changes them.
        """
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        self._require_staff(actor, branch)
        chosen = _chosen_services(counter, services)
        with self.uow.command(branch, self.clock()) as tx:
            sessions = {s.counter_number: s for s in tx.session.execute(
                select(CounterSession).where(CounterSession.branch_code == branch.code)).scalars()}
            session = sessions.get(counter.number)
            if session is None:
                session = CounterSession(branch_code=branch.code, counter_number=counter.number)
                tx.session.add(session)
            if session.staff_username == actor.username:
                if services is not None and session.services != chosen:
                    session.services = chosen
                    tx.emit(EventKind.COUNTER_SIGNED_IN, counter=counter.number, staff=actor.username,
                            device=actor.device, reason="services changed",
                            data={"services": list(skills_today(counter, session).services)},
                            public={"status": counter_status(session),
                                    "services": list(skills_today(counter, session).services)})
                return counter_view(counter, session, _active_ticket(tx.session, branch, counter.number), branch,
                                    staff=True)
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
                    self._close_session(tx, branch, other, reason=f"moved to counter {counter.number}")
            session.staff_username = actor.username
            session.signed_in_at = tx.now
            session.paused = False
            session.pause_reason = None
            session.paused_at = None
            session.services = chosen
            today = list(skills_today(counter, session).services)
            tx.emit(EventKind.COUNTER_SIGNED_IN, counter=counter.number, staff=actor.username, device=actor.device,
                    data={"services": today}, public={"status": "open", "services": today})
            return counter_view(counter, session, _active_ticket(tx.session, branch, counter.number), branch,
                                staff=True)

    def sign_out(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        with self.uow.command(branch, self.clock()) as tx:
            session = self._own_session(tx, branch, counter.number, actor)
            self._close_session(tx, branch, session, reason="signed out")
            return counter_view(counter, session, None, branch, staff=True)

    def pause_counter(self, branch_code: str, counter_number: str, actor: Actor, reason: str) -> dict[str, Any]:
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        with self.uow.command(branch, self.clock()) as tx:
            session = self._own_session(tx, branch, counter.number, actor)
            if session.paused:
                raise DomainError(f"counter {counter.number} is already paused", code="already_paused")
            session.paused, session.pause_reason, session.paused_at = True, reason, tx.now
            tx.emit(EventKind.COUNTER_PAUSED, counter=counter.number, staff=actor.username, reason=reason,
                    public={"status": "paused"})
            return counter_view(counter, session, _active_ticket(tx.session, branch, counter.number), branch,
                                staff=True)

    def resume_counter(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        with self.uow.command(branch, self.clock()) as tx:
            session = self._own_session(tx, branch, counter.number, actor)
            if not session.paused:
                raise DomainError(f"counter {counter.number} is not paused", code="not_paused")
            paused_for = (tx.now - session.paused_at).total_seconds() if session.paused_at else None
            session.paused, session.pause_reason, session.paused_at = False, None, None
            tx.emit(EventKind.COUNTER_RESUMED, counter=counter.number, staff=actor.username,
                    data={"paused_seconds": paused_for}, public={"status": "open"})
            return counter_view(counter, session, _active_ticket(tx.session, branch, counter.number), branch,
                                staff=True)

    # --- staff: calling ---------------------------------------------------------------------------

    def call_next(self, branch_code: str, counter_number: str, actor: Actor,
                  *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Call the ticket the policy picks for this counter. ``{"ticket": None}`` when nothing waits."""
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        fingerprint = _fingerprint("call_next", counter.number, actor.username or "")
        with self.uow.command(branch, self.clock()) as tx:
            stored = _stored_response(tx, branch, f"call_next:{counter.number}", idempotency_key, fingerprint)
            if stored is not None:
                return stored
            skills = skills_today(counter, self._ready_to_call(tx, branch, counter.number, actor))
            choice = policy.choose_next(skills, next_candidates(tx.connection, branch.code, skills, self.rules),
                                        self.rules)
            response: dict[str, Any] = {"ticket": None, "waiting": 0}
            if choice is not None:
                ticket = load_ticket(tx.session, branch, choice.ticket_id)
                self._call(tx, ticket, counter.number, actor)
                tx.session.flush()
                response = {"ticket": ticket_staff(ticket, branch),
                            "waiting": count_eligible(tx.connection, branch.code, skills)}
            _store_response(tx, branch, f"call_next:{counter.number}", idempotency_key, fingerprint, response)
            return response

    def call_ticket(self, branch_code: str, counter_number: str, ticket_id: int, actor: Actor,
                    *, expected_version: int | None = None) -> dict[str, Any]:
        """Call one specific waiting ticket that this counter may serve."""
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        with self.uow.command(branch, self.clock()) as tx:
            skills = skills_today(counter, self._ready_to_call(tx, branch, counter.number, actor))
            ticket = load_ticket(tx.session, branch, ticket_id)
            _check_version(ticket, expected_version)
            if ticket.state == TicketState.WAITING.value and not policy.is_eligible(_queued(ticket), skills):
                raise DomainError(
                    f"counter {counter.number} does not serve {ticket.number}; transfer it first",
                    code="not_eligible",
                )
            self._call(tx, ticket, counter.number, actor)
            return {"ticket": ticket_staff(ticket, branch)}

    # --- staff: acting on the ticket at the counter ----------------------------------------------

    def act(self, branch_code: str, ticket_id: int, action: Action, actor: Actor, *,
            expected_version: int | None = None, reason: str | None = None) -> dict[str, Any]:
        """Recall, start, finish, no-show, return to queue, park or resume a ticket at the actor's counter."""
        if action in (Action.CALL, Action.TRANSFER, Action.CANCEL, Action.REACTIVATE):
            raise ValueError(f"{action} has its own command")
        branch = self.branch(branch_code)
        with self.uow.command(branch, self.clock()) as tx:
            ticket = load_ticket(tx.session, branch, ticket_id)
            _check_version(ticket, expected_version)
            counter_number = ticket.counter_number
            if counter_number is None:
                next_state(TicketState(ticket.state), action)  # raises the readable illegal-transition error
                raise IllegalTransition(f"{ticket.number} is not at a counter")
            self._own_session(tx, branch, counter_number, actor)
            if action is Action.RESUME:
                active = _active_ticket(tx.session, branch, counter_number)
                if active is not None:
                    raise DomainError(
                        f"counter {counter_number} is busy with {active.number}; finish it before resuming "
                        f"{ticket.number}", code="counter_busy", current=active.number,
                    )
            data: dict[str, Any] = {}
            if action is Action.FINISH and ticket.service_started_at is not None:
                data["service_seconds"] = (tx.now - ticket.service_started_at).total_seconds()
            if action is Action.START and ticket.called_at is not None:
                data["walk_up_seconds"] = (tx.now - ticket.called_at).total_seconds()
            self._transition(tx, ticket, action, actor, counter=counter_number, reason=reason, data=data)
            if action is Action.RECALL:
                ticket.recall_count += 1
                ticket.called_at = tx.now
            elif action is Action.START:
                ticket.service_started_at = tx.now
            elif action is Action.FINISH:
                ticket.finished_at = tx.now
            elif action is Action.NO_SHOW:
                ticket.no_show_at = tx.now
            elif action is Action.RETURN_TO_QUEUE:
                ticket.counter_number = None
            tx.events[-1]["ticket"] = ticket_public(ticket, branch)
            return {"ticket": ticket_staff(ticket, branch)}

    def transfer(self, branch_code: str, ticket_id: int, actor: Actor, *, to_service: str | None = None,
                 to_counter: str | None = None, note: str | None = None,
                 expected_version: int | None = None) -> dict[str, Any]:
        """Send a waiting, called or serving ticket to another service and/or a specific counter."""
        branch = self.branch(branch_code)
        self._require_staff(actor, branch)
        if to_service is None and to_counter is None:
            raise DomainError("say where to transfer: to_service, to_counter or both", code="transfer_target_missing",
                              http_status=422)
        if to_service is not None and branch.service(to_service) is None:
            raise NotFound(f"branch {branch.code} has no service {to_service!r}", code="unknown_service")
        if to_counter is not None:
            self._counter(branch, to_counter)
        with self.uow.command(branch, self.clock()) as tx:
            ticket = load_ticket(tx.session, branch, ticket_id)
            _check_version(ticket, expected_version)
            if ticket.counter_number is not None:
                self._own_session(tx, branch, ticket.counter_number, actor)
            elif not actor.is_manager:
                self._signed_in_somewhere(tx, branch, actor)
            from_service, from_counter = ticket.service_code, ticket.counter_number
            data: dict[str, Any] = {"from_service": from_service, "to_service": to_service or from_service,
                                    "from_counter": from_counter, "to_counter": to_counter}
            if ticket.state == TicketState.SERVING.value and ticket.service_started_at is not None:
                data["service_seconds"] = (tx.now - ticket.service_started_at).total_seconds()
            self._transition(tx, ticket, Action.TRANSFER, actor, counter=from_counter, reason=note, data=data)
            ticket.service_code = to_service or from_service
            ticket.target_counter = to_counter
            ticket.transferred = True
            ticket.transfer_note = note
            _set_queue_key(ticket, self.rules)
            ticket.counter_number = None
            ticket.service_started_at = None
            tx.events[-1]["ticket"] = ticket_public(ticket, branch)
            tx.events[-1]["from_service"] = from_service
            tx.events[-1]["to_counter"] = to_counter
            return {"ticket": ticket_staff(ticket, branch)}

    def reactivate(self, branch_code: str, ticket_id: int, actor: Actor) -> dict[str, Any]:
        branch = self.branch(branch_code)
        self._require_staff(actor, branch)
        with self.uow.command(branch, self.clock()) as tx:
            ticket = load_ticket(tx.session, branch, ticket_id)
            self._reactivate(tx, ticket, actor)
            return {"ticket": ticket_staff(ticket, branch)}

    # --- queries ----------------------------------------------------------------------------------

    def snapshot(self, branch_code: str, *, staff: bool = False) -> dict[str, Any]:
        """The hall as a screen needs it, with the branch sequence number it is consistent with."""
        branch = self.branch(branch_code)
        now = self.clock()
        with self.uow.read() as session:
            seq = session.execute(select(BranchSequence.seq).where(BranchSequence.branch_code == branch.code)
                                  ).scalar_one_or_none() or 0
            tickets = list(session.execute(
                select(Ticket).where(Ticket.branch_code == branch.code,
                                     Ticket.state.in_([s.value for s in (TicketState.WAITING, TicketState.CALLED,
                                                                         TicketState.SERVING, TicketState.PARKED)]))
            ).scalars())
            sessions = {s.counter_number: s for s in session.execute(
                select(CounterSession).where(CounterSession.branch_code == branch.code)).scalars()}
            recent = list(session.execute(
                select(TicketEvent).where(TicketEvent.branch_code == branch.code,
                                          TicketEvent.kind.in_([EventKind.CALLED.value, EventKind.RECALLED.value]))
                .order_by(TicketEvent.seq.desc()).limit(self.config.queue.recent_calls)
            ).scalars())
            day = service_day(now, branch.timezone)
            issued_today = dict(session.execute(
                select(NumberSequence.service_code, NumberSequence.issued_count)
                .where(NumberSequence.branch_code == branch.code, NumberSequence.service_day == day)).all())
        waiting = [t for t in tickets if t.state == TicketState.WAITING.value]
        active = {t.counter_number: t for t in tickets if t.state in ACTIVE_STATES}
        now_local = local_time(now, branch.timezone)
        services = []
        for service in branch.services:
            view = service_view(service)
            view["waiting"] = sum(1 for t in waiting if t.service_code == service.code)
            view["open"] = service.hours.is_open(now_local)
            view["issued_today"] = issued_today.get(service.code, 0)
            view["daily_cap_reached"] = (service.daily_cap is not None
                                         and issued_today.get(service.code, 0) >= service.daily_cap)
            services.append(view)
        result: dict[str, Any] = {
            "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key,
                       "hours": str(branch.hours)},
            "seq": seq,
            "generated_at": now.isoformat(),
            "categories": [{"code": c.code, "name": c.name.as_dict(), "icon": c.icon, "colour": c.colour}
                           for c in branch.categories],
            "services": services,
            "counters": [counter_view(c, sessions.get(c.number), active.get(c.number), branch, staff=staff)
                         for c in branch.counters],
            "recent_calls": [{"number": e.ticket_number, "counter": e.counter_number, "service": e.service_code,
                              "kind": e.kind, "at": iso(e.at), "seq": e.seq} for e in recent],
            "waiting_total": len(waiting),
        }
        if staff:
            result["waiting"] = [ticket_staff(t, branch) for t in sorted(waiting, key=lambda t: (t.queued_at, t.id))]
            result["parked"] = [ticket_staff(t, branch) for t in tickets if t.state == TicketState.PARKED.value]
        return result

    def counter_public(self, branch_code: str, counter_number: str) -> dict[str, Any]:
        """One counter as its own screens show it (counter display, rating pad): the public view plus
        the display name of the staff member at it, which the customer at that counter may see."""
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        with self.uow.read() as session:
            counter_session = session.execute(select(CounterSession).where(
                CounterSession.branch_code == branch.code, CounterSession.counter_number == counter.number)
            ).scalar_one_or_none()
            current = _active_ticket(session, branch, counter.number)
            view = counter_view(counter, counter_session, current, branch)
        account = self.config.account(counter_session.staff_username) if counter_session and \
            counter_session.staff_username else None
        view["staff_display_name"] = account.display_name if account else None
        view["staff_photo"] = account.photo if account else None
        return view

    def counter_queue(self, branch_code: str, counter_number: str) -> dict[str, Any]:
        """The waiting tickets this counter may call (with today's services), in the order it would call them,
        its parked ones, and the counter itself (staff view: status, services, current ticket), all as of
        the branch sequence number ``seq``, so that a console can tell a fresher answer from an older one."""
        branch = self.branch(branch_code)
        counter = self._counter(branch, counter_number)
        with self.uow.read() as session:
            seq = session.execute(select(BranchSequence.seq).where(BranchSequence.branch_code == branch.code)
                                  ).scalar_one_or_none() or 0
            counter_session = session.get(CounterSession, (branch.code, counter.number))
            current = _active_ticket(session, branch, counter.number)
            waiting = _waiting(session, branch.code)
            parked = list(session.execute(select(Ticket).where(
                Ticket.branch_code == branch.code, Ticket.state == TicketState.PARKED.value,
                Ticket.counter_number == counter.number)).scalars())
        by_id = {t.id: t for t in waiting}
        order = policy.call_order(skills_today(counter, counter_session), [_queued(t) for t in waiting], self.rules)
        return {
            "counter": counter.number,
            "seq": seq,
            "counter_state": counter_view(counter, counter_session, current, branch, staff=True),
            "waiting": [ticket_staff(by_id[q.ticket_id], branch) for q in order],
            "parked": [ticket_staff(t, branch) for t in parked],
        }

    def ticket_by_token(self, token: str) -> dict[str, Any]:
        """A customer's own ticket, for the mobile page: state, counter, people ahead."""
        with self.uow.read() as session:
            ticket = session.execute(select(Ticket).where(Ticket.token == require_token(token))).scalar_one_or_none()
            if ticket is None:
                raise NotFound("no such ticket", code="unknown_ticket")
            branch = self.branch(ticket.branch_code)
            people_ahead = None
            if ticket.state == TicketState.WAITING.value:
                people_ahead = self._people_ahead(session.connection(), branch, _queued(ticket))
        live = self.estimates.ticket_live(branch.code, ticket.id) if self.estimates and ticket.id else None
        estimate = live["estimate"] if live and ticket.state == TicketState.WAITING.value else None
        return {**ticket_public(ticket, branch), "priority": ticket.priority, "people_ahead": people_ahead,
                "estimate": estimate, "branch": branch.code, "branch_name": branch.name.as_dict(),
                "counter_name": _counter_name(branch, ticket.counter_number)}

    def events_since(self, branch_code: str, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
        """The branch's event rows after a sequence number (history, audits, catch-up)."""
        branch = self.branch(branch_code)
        with self.uow.read() as session:
            rows = session.execute(select(TicketEvent).where(
                TicketEvent.branch_code == branch.code, TicketEvent.seq > after_seq
            ).order_by(TicketEvent.seq).limit(limit)).scalars()
            return [{"seq": e.seq, "kind": e.kind, "at": iso(e.at), "ticket_id": e.ticket_id,
                     "ticket_number": e.ticket_number, "service": e.service_code, "counter": e.counter_number,
                     "staff": e.staff_username, "device": e.device, "reason": e.reason,
                     "data": json.loads(e.data) if e.data else None} for e in rows]

    # --- internals --------------------------------------------------------------------------------

    def _counter(self, branch: Branch, number: str) -> Any:
        return require_counter(branch, number)

    def _require_staff(self, actor: Actor, branch: Branch) -> None:
        require_staff(self.config, actor, branch)

    def _own_session(self, tx: Transaction, branch: Branch, counter_number: str, actor: Actor) -> CounterSession:
        """The counter's session, which must belong to the actor (a manager may act for any counter)."""
        self._require_staff(actor, branch)
        session = tx.session.get(CounterSession, (branch.code, counter_number))
        if session is None or session.staff_username is None:
            raise DomainError(f"nobody is signed in at counter {counter_number}", code="counter_closed")
        if session.staff_username != actor.username and not actor.is_manager:
            raise NotAllowed(f"counter {counter_number} is signed in by {session.staff_username}, not you",
                             code="not_your_counter")
        return session

    def _signed_in_somewhere(self, tx: Transaction, branch: Branch, actor: Actor) -> None:
        found = tx.session.execute(select(CounterSession.counter_number).where(
            CounterSession.branch_code == branch.code, CounterSession.staff_username == actor.username)).first()
        if found is None:
            raise DomainError("sign in to a counter first", code="not_signed_in")

    def _ready_to_call(self, tx: Transaction, branch: Branch, counter_number: str, actor: Actor) -> CounterSession:
        """The actor's open, unpaused, idle session at the counter (refused otherwise)."""
        session = self._own_session(tx, branch, counter_number, actor)
        if session.paused:
            raise DomainError(f"counter {counter_number} is paused; resume it to call", code="counter_paused")
        active = _active_ticket(tx.session, branch, counter_number)
        if active is not None:
            raise DomainError(
                f"counter {counter_number} is still {active.state} with {active.number}; "
                "finish, return or mark it no-show first", code="counter_busy", current=active.number,
            )
        return session

    def _close_session(self, tx: Transaction, branch: Branch, session: CounterSession, *, reason: str) -> None:
        active = _active_ticket(tx.session, branch, session.counter_number)
        if active is not None:
            raise DomainError(
                f"counter {session.counter_number} still has {active.number} ({active.state}); finish it first",
                code="counter_busy", current=active.number,
            )
        staff = session.staff_username
        session.staff_username, session.signed_in_at = None, None
        session.paused, session.pause_reason, session.paused_at = False, None, None
        session.services = None
        tx.emit(EventKind.COUNTER_SIGNED_OUT, counter=session.counter_number, staff=staff, reason=reason,
                public={"status": "closed"})

    def _call(self, tx: Transaction, ticket: Ticket, counter_number: str, actor: Actor) -> None:
        branch = tx.branch
        wait_seconds = (tx.now - ticket.queued_at).total_seconds()
        self._transition(tx, ticket, Action.CALL, actor, counter=counter_number,
                         data={"wait_seconds": wait_seconds, "priority": ticket.priority})
        ticket.called_at = tx.now
        ticket.counter_number = counter_number
        ticket.staff_username = actor.username
        ticket.target_counter = None
        tx.events[-1]["ticket"] = ticket_public(ticket, branch)

    def _reactivate(self, tx: Transaction, ticket: Ticket, actor: Actor) -> None:
        window = self.config.queue.reactivate_window
        if ticket.state == TicketState.NO_SHOW.value and ticket.no_show_at and tx.now - ticket.no_show_at > window:
            minutes = int(window.total_seconds() // 60)
            raise DomainError(f"{ticket.number} was marked no-show more than {minutes} min ago; please take a new "
                              "ticket", code="reactivate_window_passed")
        self._transition(tx, ticket, Action.REACTIVATE, actor, counter=None)
        ticket.queued_at = tx.now
        _set_queue_key(ticket, self.rules)
        ticket.counter_number = None
        ticket.no_show_at = None
        tx.events[-1]["ticket"] = ticket_public(ticket, tx.branch)

    def _transition(self, tx: Transaction, ticket: Ticket, action: Action, actor: Actor, *, counter: str | None,
                    reason: str | None = None, data: dict[str, Any] | None = None) -> None:
        ticket.state = next_state(TicketState(ticket.state), action).value
        ticket.version += 1
        tx.emit(ACTION_EVENT[action], ticket=ticket, counter=counter, staff=actor.username, device=actor.device,
                reason=reason, data=data, public={"ticket": ticket_public(ticket, tx.branch)})

    def _people_ahead(self, connection: Connection, branch: Branch, me: policy.QueuedTicket) -> int:
        """Tickets called before this one at the counter where it is nearest the front (open counters first).

        Counted by the database over a range of the queue index (:mod:`server.persistence.queue_queries`), so no
        queue is loaded into Python.
        """
        cursor = _SELECT_OPEN_COUNTERS.execute(connection, {"b": branch.code})
        chosen = dict(cursor.fetchall())
        cursor.close()
        open_skills = [policy.CounterSkills(c.number, chosen_services(c, chosen[c.number]), c.role)
                       for c in branch.counters if c.number in chosen]
        skills = ([k for k in open_skills if policy.is_eligible(me, k)]
                  or [c.skills for c in branch.counters if policy.is_eligible(me, c.skills)])
        return min(count_ahead(connection, branch.code, me, skills, self.rules), default=0)

    def _new_ticket_estimate(self, branch: Branch, service_code: str,
                             priority: PriorityClass) -> dict[str, Any] | None:
        """The estimate a new ticket is given (shown, printed, and stored for the accuracy record)."""
        if self.estimates is None:
            return None
        estimate = self.estimates.new_ticket_estimate(branch.code, service_code, priority)
        return None if estimate is None else estimate.as_dict()

    def _locate_token(self, token: str) -> tuple[Branch, int]:
        with self.uow.read() as session:
            row = session.execute(select(Ticket.branch_code, Ticket.id)
                                  .where(Ticket.token == require_token(token))).first()
        if row is None:
            raise NotFound("no such ticket", code="unknown_ticket")
        return self.branch(row[0]), int(row[1])


def load_ticket(session: Session, branch: Branch, ticket_id: int) -> Ticket:
    """A ticket of this branch by id, or 404 ``unknown_ticket``."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.branch_code != branch.code:
        raise NotFound(f"no ticket {ticket_id} in branch {branch.code}", code="unknown_ticket")
    return ticket


def _counter_name(branch: Branch, number: str | None) -> dict[str, str] | None:
    counter = branch.counter(number) if number else None
    return counter.name.as_dict() if counter else None


def _queued(ticket: Ticket) -> policy.QueuedTicket:
    return policy.QueuedTicket(
        ticket_id=ticket.id or 0,
        service_code=ticket.service_code,
        priority=PriorityClass(ticket.priority),
        queued_at=ticket.queued_at,
        target_counter=ticket.target_counter,
        transferred=ticket.transferred,
    )


def _set_queue_key(ticket: Ticket, rules: policy.PolicyRules) -> None:
    """Whenever a ticket (re-)enters the queue or its class or transfer changes: the key the index sorts by."""
    ticket.queue_key_us = policy.queue_key_us(_queued(ticket), rules)


_TICKETS = Ticket.__table__.c


def _waiting(session: Session, branch_code: str) -> list[Ticket]:
    return list(session.execute(select(Ticket).where(
        Ticket.branch_code == branch_code, Ticket.state == TicketState.WAITING.value)).scalars())


def _active_ticket(session: Session, branch: Branch, counter_number: str) -> Ticket | None:
    return session.execute(select(Ticket).where(
        Ticket.branch_code == branch.code, Ticket.counter_number == counter_number,
        Ticket.state.in_(ACTIVE_STATES))).scalars().first()


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and ticket.version != expected_version:
        raise StaleState(
            f"{ticket.number} changed meanwhile (it is {ticket.state.replace('_', ' ')} now); the view was refreshed",
            state=ticket.state, version=ticket.version,
        )


_NUMBERS = NumberSequence.__table__
_NUMBERS_KEY = (
    (_NUMBERS.c.branch_code == bindparam("b")) & (_NUMBERS.c.service_code == bindparam("s"))
    & (_NUMBERS.c.service_day == bindparam("d"))
)
_SELECT_NUMBERS = RawStatement(select(_NUMBERS.c.last_sequence, _NUMBERS.c.issued_count).where(_NUMBERS_KEY))
_INSERT_NUMBERS = RawStatement(insert(_NUMBERS), [c.name for c in _NUMBERS.columns])
_UPDATE_NUMBERS = RawStatement(update(_NUMBERS).where(_NUMBERS_KEY).values(
    last_sequence=bindparam("last"), issued_count=bindparam("issued")))
_TICKET_COLUMNS = [c.name for c in Ticket.__table__.columns if c.name != "id"]
_INSERT_TICKET = RawStatement(insert(Ticket.__table__).returning(Ticket.__table__.c.id), _TICKET_COLUMNS)
_SESSIONS = CounterSession.__table__.c
_SELECT_OPEN_COUNTERS = RawStatement(select(_SESSIONS.counter_number, _SESSIONS.services).where(
    _SESSIONS.branch_code == bindparam("b"), _SESSIONS.staff_username.is_not(None)))
_IDEMPOTENCY = IdempotencyRecord.__table__
_SELECT_IDEMPOTENCY = RawStatement(select(_IDEMPOTENCY.c.fingerprint, _IDEMPOTENCY.c.response).where(
    _IDEMPOTENCY.c.key == bindparam("k")))
_INSERT_IDEMPOTENCY = RawStatement(insert(_IDEMPOTENCY), [c.name for c in _IDEMPOTENCY.columns])


def _next_number(tx: Transaction, service: Service, day: date) -> int:
    """The next sequence number of a service's day; refuses past the daily cap. Runs under the branch lock."""
    key = {"b": tx.branch.code, "s": service.code, "d": day}
    row = _SELECT_NUMBERS.first(tx.connection, key)
    if row is None:
        last, issued = service.start_number - 1, 0
        _INSERT_NUMBERS.run(tx.connection, {"branch_code": tx.branch.code, "service_code": service.code,
                                            "service_day": day, "last_sequence": last, "issued_count": 0})
    else:
        last, issued = row
    if service.daily_cap is not None and issued >= service.daily_cap:
        raise DomainError(
            f"{service.name.en} has issued its {service.daily_cap} tickets for today",
            code="daily_cap_reached", daily_cap=service.daily_cap,
        )
    _UPDATE_NUMBERS.run(tx.connection, {**key, "last": last + 1, "issued": issued + 1})
    return int(last) + 1


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


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _stored_response(tx: Transaction, branch: Branch, command: str, key: str | None,
                     fingerprint: str) -> dict[str, Any] | None:
    if key is None:
        return None
    record = _SELECT_IDEMPOTENCY.first(tx.connection, {"k": f"{branch.code}:{command}:{key}"})
    if record is None:
        return None
    stored_fingerprint, stored_response = record
    if stored_fingerprint != fingerprint:
        raise DomainError("this Idempotency-Key was already used for a different request",
                          code="idempotency_key_reused", http_status=422)
    return json.loads(stored_response) | {"replayed": True}


def _store_response(tx: Transaction, branch: Branch, command: str, key: str | None, fingerprint: str,
                    response: dict[str, Any]) -> None:
    if key is None:
        return
    _INSERT_IDEMPOTENCY.run(tx.connection, {
        "key": f"{branch.code}:{command}:{key}", "fingerprint": fingerprint, "status_code": 200,
        "response": json.dumps(response, ensure_ascii=False), "created_at": tx.now})


__all__ = ["HallService", "load_ticket"]
