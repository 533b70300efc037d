"""The ticket aggregate: a customer's ticket that changes itself.

Each command method checks the transition against the lifecycle (:mod:`server.domain.tickets`), sets
every field the change implies, bumps the version and returns the :class:`TicketChange` to record. A
refused command raises before any field is touched. The service layer loads a ticket, calls one method
and saves it; no other code sets a ticket's fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server.domain import policy, remote
from server.domain.errors import DomainError, StaleState
from server.domain.tickets import (
    Action,
    EventKind,
    PriorityClass,
    TicketState,
    allowed_actions,
    new_token,
    next_state,
)


@dataclass(frozen=True, slots=True)
class TicketChange:
    """What one command did to a ticket: the event to append (the service adds who did it and from where).

    ``counter`` is the counter the event concerns: the calling counter for a call, the counter the ticket
    leaves for a return, no-show or transfer. ``data`` is kept in the event row for the estimator and reports.
    """

    kind: EventKind
    counter: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(eq=False, slots=True)
class Ticket:
    """A customer's ticket: where it is in its lifecycle and the moments that matter to waits and reports."""

    token: str
    branch_code: str
    service_code: str
    issued_service_code: str
    service_day: date
    sequence: int
    number: str
    priority: PriorityClass
    state: TicketState
    channel: str
    language: str
    issued_at: datetime
    queued_at: datetime
    queue_key_us: int = 0
    called_at: datetime | None = None
    service_started_at: datetime | None = None
    finished_at: datetime | None = None
    no_show_at: datetime | None = None
    cancelled_at: datetime | None = None
    expired_at: datetime | None = None
    counter_number: str | None = None
    staff_username: str | None = None
    target_counter: str | None = None
    transferred: bool = False
    transfer_note: str | None = None
    recall_count: int = 0
    version: int = 1
    not_before: datetime | None = None  # an appointment checked in early: not called before its slot starts
    remote: bool = False  # taken on a phone before arriving (server/domain/remote.py)
    arrived_at: datetime | None = None  # a remote ticket's check-in at the hall; until then it is not called
    held_since: datetime | None = None  # a remote ticket not checked in: since a counter first called one behind it
    id: int | None = None

    # --- creation ----------------------------------------------------------------------------------

    @classmethod
    def issue(cls, *, branch_code: str, service_code: str, day: date, sequence: int, number: str,
              priority: PriorityClass, channel: str, language: str, now: datetime, rules: policy.PolicyRules,
              estimate: dict[str, Any] | None = None,
              not_before: datetime | None = None, remote: bool = False) -> tuple[Ticket, TicketChange]:
        """A new waiting ticket; ``estimate`` is the wait it was promised, kept for the accuracy record;
        ``not_before`` the instant before which no counter calls it (an appointment checked in early); ``remote``
        a ticket taken on a phone before arriving: not called until it checks in (:meth:`check_in`)."""
        ticket = cls(token=new_token(), branch_code=branch_code, service_code=service_code,
                     issued_service_code=service_code, service_day=day, sequence=sequence, number=number,
                     priority=priority, state=TicketState.WAITING, channel=channel, language=language,
                     issued_at=now, queued_at=now, not_before=not_before if not_before and not_before > now else None,
                     remote=remote)
        ticket._requeue(rules)
        data = {"priority": priority.value, "channel": channel, "estimate": estimate}
        if remote:
            data["remote"] = True
        return ticket, TicketChange(EventKind.ISSUED, data=data)

    # --- what the policy and the views read --------------------------------------------------------

    def queued(self) -> policy.QueuedTicket:
        """What the call-next policy knows of this ticket."""
        return policy.QueuedTicket(ticket_id=self.id or 0, service_code=self.service_code, priority=self.priority,
                                   queued_at=self.queued_at, target_counter=self.target_counter,
                                   transferred=self.transferred, not_before=self.not_before,
                                   awaiting_arrival=self.awaiting_arrival)

    @property
    def awaiting_arrival(self) -> bool:
        """Taken on a phone and not checked in at the hall yet: no counter calls it."""
        return remote.awaiting_arrival(self.remote, self.arrived_at)

    def allowed_actions(self) -> list[Action]:
        return allowed_actions(self.state)

    def check_version(self, expected: int | None) -> None:
        """Refuse a command sent from an outdated view (``expected`` None: the caller did not say)."""
        if expected is not None and self.version != expected:
            raise StaleState(
                f"{self.number} changed meanwhile (it is {self.state.replace('_', ' ')} now); the view was "
                "refreshed", state=self.state.value, version=self.version)

    # --- commands ----------------------------------------------------------------------------------

    def call(self, counter: str, staff: str | None, now: datetime, *, today: date) -> TicketChange:
        """To ``counter``; only on its own service day (``today``, the branch's), whatever is left in the queue."""
        self._check_day(today, "call")
        self._move(Action.CALL)
        waited = (now - self.queued_at).total_seconds()
        self.called_at = now
        self.counter_number = counter
        self.staff_username = staff
        self.target_counter = None
        return TicketChange(EventKind.CALLED, counter, {"wait_seconds": waited, "priority": self.priority.value})

    def recall(self, now: datetime, reason: str | None = None) -> TicketChange:
        self._move(Action.RECALL)
        self.recall_count += 1
        self.called_at = now
        return TicketChange(EventKind.RECALLED, self.counter_number, reason=reason)

    def start(self, now: datetime, reason: str | None = None) -> TicketChange:
        data = {} if self.called_at is None else {"walk_up_seconds": (now - self.called_at).total_seconds()}
        self._move(Action.START)
        self.service_started_at = now
        return TicketChange(EventKind.SERVING, self.counter_number, data, reason)

    def finish(self, now: datetime, reason: str | None = None) -> TicketChange:
        data = {} if self.service_started_at is None else {
            "service_seconds": (now - self.service_started_at).total_seconds()}
        self._move(Action.FINISH)
        self.finished_at = now
        return TicketChange(EventKind.FINISHED, self.counter_number, data, reason)

    def no_show(self, now: datetime, reason: str | None = None) -> TicketChange:
        self._move(Action.NO_SHOW)
        self.no_show_at = now
        return TicketChange(EventKind.NO_SHOW, self.counter_number, reason=reason)

    def return_to_queue(self, now: datetime, reason: str | None = None) -> TicketChange:
        """Back to waiting with its place kept (the customer stepped away; the counter called too early)."""
        self._move(Action.RETURN_TO_QUEUE)
        counter, self.counter_number = self.counter_number, None
        return TicketChange(EventKind.RETURNED, counter, reason=reason)

    def park(self, now: datetime, reason: str | None = None) -> TicketChange:
        self._move(Action.PARK)
        return TicketChange(EventKind.PARKED, self.counter_number, reason=reason)

    def resume(self, now: datetime, reason: str | None = None) -> TicketChange:
        self._move(Action.RESUME)
        return TicketChange(EventKind.RESUMED, self.counter_number, reason=reason)

    def transfer(self, now: datetime, *, to_service: str | None, to_counter: str | None, note: str | None,
                 rules: policy.PolicyRules) -> TicketChange:
        """To another service and/or one counter; it waits again with the transfer head start."""
        from_service, from_counter = self.service_code, self.counter_number
        data: dict[str, Any] = {"from_service": from_service, "to_service": to_service or from_service,
                                "from_counter": from_counter, "to_counter": to_counter}
        if self.state is TicketState.SERVING and self.service_started_at is not None:
            data["service_seconds"] = (now - self.service_started_at).total_seconds()
        self._move(Action.TRANSFER)
        self.service_code = to_service or from_service
        self.target_counter = to_counter
        self.transferred = True
        self.transfer_note = note
        self._requeue(rules)
        self.counter_number = None
        self.service_started_at = None
        return TicketChange(EventKind.TRANSFERRED, from_counter, data, note)

    def cancel(self, now: datetime) -> TicketChange:
        """The customer leaves."""
        self._move(Action.CANCEL)
        self.cancelled_at = now
        return TicketChange(EventKind.CANCELLED)

    def reactivate_until(self, window: timedelta) -> datetime | None:
        """Until when a no-show may go back into the queue (None: this ticket is not a no-show)."""
        if self.state is not TicketState.NO_SHOW or self.no_show_at is None:
            return None
        return self.no_show_at + window

    def reactivate(self, now: datetime, *, window: timedelta, rules: policy.PolicyRules, today: date) -> TicketChange:
        """A no-show back into the queue, as if it had just arrived, within ``window`` of the no-show and on its
        own service day."""
        self._check_day(today, "re-activate")
        until = self.reactivate_until(window)
        if until is not None and now > until:
            minutes = int(window.total_seconds() // 60)
            raise DomainError(f"{self.number} was marked no-show more than {minutes} min ago; please take a new "
                              "ticket", code="reactivate_window_passed")
        self._move(Action.REACTIVATE)
        self.queued_at = now
        self._requeue(rules)
        self.counter_number = None
        self.no_show_at = None
        return TicketChange(EventKind.REACTIVATED)

    def expire(self, now: datetime, reason: str) -> TicketChange:
        """Still in the hall when its service day ended: closed for good. The event names the counter it was at
        (if any) and the state it was in, for the day's report."""
        was, counter = self.state, self.counter_number
        self._move(Action.EXPIRE)
        self.expired_at = now
        return TicketChange(EventKind.EXPIRED, counter, {"was": was.value}, reason)

    def undo_no_show(self, now: datetime, *, window: timedelta, today: date) -> TicketChange:
        """Take back a no-show marked by mistake, within ``window`` (seconds) of it: the ticket is called at the same
        counter again exactly as the customer last saw it (same call time, same recalls), so the hall's screens
        show the call again without announcing a new one. Whether the counter has moved on meanwhile is the
        service's to check (it needs the counter's history). Like any call, only on the ticket's own day."""
        self._check_day(today, "undo the no-show of")
        if self.state is TicketState.NO_SHOW and self.no_show_at is not None and now - self.no_show_at > window:
            raise DomainError(f"{self.number} was marked no-show more than {window.total_seconds():g} s ago; "
                              "re-activate it instead", code="undo_window_passed")
        marked_at = self.no_show_at
        self._move(Action.UNDO_NO_SHOW)
        self.no_show_at = None
        data = {} if marked_at is None else {"no_show_seconds": (now - marked_at).total_seconds()}
        return TicketChange(EventKind.NO_SHOW_UNDONE, self.counter_number, data)

    def check_in(self, now: datetime, how: str) -> TicketChange | None:
        """A remote ticket's customer is in the hall (``how``: "qr", "kiosk" or "staff"): from now on it is called
        in its turn, first of its group if it was held aside meanwhile. None when it was checked in already (a
        retry); refused for a ticket that never needed it or no longer waits."""
        if not self.remote:
            raise remote.refusal("not_remote", remote.NOT_AWAITING)
        if self.arrived_at is not None:
            return None
        if self.state is not TicketState.WAITING:
            raise DomainError(f"{self.number} is {self.state.replace('_', ' ')}; it cannot check in",
                              code="not_waiting", state=self.state.value)
        self.arrived_at = now
        self.version += 1
        data: dict[str, Any] = {"how": how}
        if self.held_since is not None:
            data["held_seconds"] = (now - self.held_since).total_seconds()
        return TicketChange(EventKind.CHECKED_IN, data=data)

    def hold_aside(self, now: datetime) -> TicketChange | None:
        """A counter called a ticket behind this one, which has not checked in: it is held aside from now (once)."""
        if not self.awaiting_arrival or self.held_since is not None or self.state is not TicketState.WAITING:
            return None
        self.held_since = now
        self.version += 1
        return TicketChange(EventKind.HELD_ASIDE)

    def at_counter(self, action: Action, now: datetime, reason: str | None = None) -> TicketChange:
        """One of the :data:`COUNTER_ACTIONS` on the ticket at its counter."""
        try:
            method = _AT_COUNTER[action]
        except KeyError:
            raise ValueError(f"{action} has its own command") from None
        return method(self, now, reason)

    # --- internals ---------------------------------------------------------------------------------

    def _check_day(self, today: date, what: str) -> None:
        if self.service_day != today:
            raise DomainError(f"{self.number} is a ticket of {self.service_day.isoformat()}, not of today; cannot "
                              f"{what} it", code="ticket_of_another_day", service_day=self.service_day.isoformat())

    def _move(self, action: Action) -> None:
        self.state = next_state(self.state, action)
        self.version += 1

    def _requeue(self, rules: policy.PolicyRules) -> None:
        """Whenever the ticket (re-)enters the queue or its class or transfer changes: the key the index sorts by."""
        self.queue_key_us = policy.queue_key_us(self.queued(), rules)


_AT_COUNTER = {
    Action.RECALL: Ticket.recall,
    Action.START: Ticket.start,
    Action.FINISH: Ticket.finish,
    Action.NO_SHOW: Ticket.no_show,
    Action.RETURN_TO_QUEUE: Ticket.return_to_queue,
    Action.PARK: Ticket.park,
    Action.RESUME: Ticket.resume,
}
COUNTER_ACTIONS: tuple[Action, ...] = tuple(_AT_COUNTER)
"""The actions staff take on the ticket at their counter with no more input than an optional reason."""
