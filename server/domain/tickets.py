"""Ticket states, priority classes and the lifecycle state machine.

The lifecycle is::

    waiting -> called -> serving -> done
    called  -> called (recall, counted) -> no_show
    called  -> waiting (returned to the queue)
    serving -> parked -> serving
    waiting/called/serving -> waiting (transferred to another service or counter)
    waiting -> cancelled (by the customer)
    no_show -> waiting (re-activated within the configured window)
    waiting/called/serving/parked -> expired (left over when the service day ended)
    no_show -> called (a mistaken no-show undone within seconds, at the same counter)

Every command names an :class:`Action`; :func:`next_state` either returns the state the ticket
moves to or raises :class:`IllegalTransition` with a message a person can read.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum

from server.domain.errors import IllegalTransition, NotFound

TOKEN_PATTERN = r"[A-Za-z0-9_-]{16,64}"
"""A ticket's private token (its phone page is ``/t/{token}``): URL-safe base64, 24 characters when issued."""


def new_token() -> str:
    return secrets.token_urlsafe(18)


def is_token(text: object) -> bool:
    """Whether ``text`` could be a ticket token: anything else names no ticket and is not looked up."""
    return isinstance(text, str) and re.fullmatch(TOKEN_PATTERN, text) is not None


def require_token(text: object) -> str:
    """``text`` if it could be a ticket token; else "no such ticket" without asking the database (which may
    refuse such a string outright: PostgreSQL cannot hold a NUL)."""
    if not is_token(text):
        raise NotFound("no such ticket", code="unknown_ticket")
    return text  # type: ignore[return-value]


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # still in the hall when its service day ended (see server/services/service_day.py)

    @property
    def is_final(self) -> bool:
        return self in (TicketState.DONE, TicketState.CANCELLED, TicketState.EXPIRED)

    @property
    def in_progress(self) -> bool:
        """The customer still waits or is being served: shown on the hall's screens, and a receipt may be printed."""
        return self in (TicketState.WAITING, TicketState.CALLED, TicketState.SERVING, TicketState.PARKED)

    @property
    def keeps_its_call(self) -> bool:
        """A call the hall's screens show stands unless its ticket waits again (returned to the queue,
        transferred, re-activated): the wall must not keep sending a customer to a counter that will call them
        again later, or elsewhere. A no-show's call stays, so that a latecomer sees they were called."""
        return self not in (TicketState.WAITING, TicketState.CANCELLED, TicketState.EXPIRED)

    @property
    def holds_counter(self) -> bool:
        """A ticket in this state occupies its counter (the counter cannot call another)."""
        return self in (TicketState.CALLED, TicketState.SERVING)


class PriorityClass(StrEnum):
    """Who a ticket is for. The call-next policy gives each class a head start (docs/queue-policy.md)."""

    NORMAL = "normal"
    PRIORITY = "priority"  # elderly, disabled, pregnant: the 爱心通道
    VIP = "vip"
    APPOINTMENT = "appointment"

    @property
    def given_by_staff(self) -> bool:
        """Only staff (later also a booking's check-in) issue tickets of this class: a customer who could pick it
        at a kiosk or from a script would jump the queue."""
        return self in (PriorityClass.VIP, PriorityClass.APPOINTMENT)


class Action(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    RETURN_TO_QUEUE = "return_to_queue"
    PARK = "park"
    RESUME = "resume"
    TRANSFER = "transfer"
    CANCEL = "cancel"
    REACTIVATE = "reactivate"
    EXPIRE = "expire"
    UNDO_NO_SHOW = "undo_no_show"


class EventKind(StrEnum):
    """What an append-only event row records; tickets and counters both produce events."""

    ISSUED = "issued"
    CALLED = "called"
    RECALLED = "recalled"
    SERVING = "serving"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    RETURNED = "returned"
    PARKED = "parked"
    RESUMED = "resumed"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    REACTIVATED = "reactivated"
    EXPIRED = "expired"  # a ticket left over at the end of its service day
    NO_SHOW_UNDONE = "no_show_undone"  # staff took back a no-show at once: called at that counter again
    CHECKED_IN = "checked_in"  # a ticket taken on a phone was checked in at the hall: it may be called now
    HELD_ASIDE = "held_aside"  # a counter called past a remote ticket not checked in yet: its check-in time runs
    COUNTER_SIGNED_IN = "counter_signed_in"
    COUNTER_SIGNED_OUT = "counter_signed_out"
    COUNTER_PAUSED = "counter_paused"
    COUNTER_RESUMED = "counter_resumed"
    RATED = "rated"  # the customer rated a finished ticket (pad or phone)
    FOLLOW_UP_OPENED = "follow_up_opened"  # a dissatisfied rating opened a follow-up
    FOLLOW_UP_ASSIGNED = "follow_up_assigned"  # a manager gave the follow-up an owner
    FOLLOW_UP_RESOLVED = "follow_up_resolved"  # its owner or a manager closed it with an outcome and a note
    FOLLOW_UP_CHANGED = "follow_up_changed"  # a case's thread or status changed (a note, started, reopened)
    PRINTED = "printed"  # a kiosk's printer took the ticket (device = kiosk id)
    PRINT_FAILED = "print_failed"  # it did not (reason says why); the ticket stays valid
    MEDIA_CHANGED = "media_changed"  # a manager changed the wall displays' playlist (images, videos)
    NOTICES_CHANGED = "notices_changed"  # a manager changed the wall displays' scrolling notices
    ISSUE_STOPPED = "issue_stopped"  # new tickets of a service (or the branch) refused by hand, with a reason
    ISSUE_RESUMED = "issue_resumed"  # ... and issued again
    DAY_ENDED = "day_ended"  # a branch's service day ended: its leftovers expired, its counters signed out
    HALL_CHANGED = "hall_changed"  # the branch's set-up changed (services, counters, hours...): screens redraw
    DEVICE_OFFLINE = "device_offline"  # a paired device sent no heartbeat for offline_after (recorded once)
    DEVICE_ONLINE = "device_online"  # ... and was heard again
    DEVICE_REVOKED = "device_revoked"  # a manager took a device's trust back (any alert about it ends)
    BOOKING_MADE = "booking_made"  # an appointment was booked (online or by staff); data: code, service, slot
    BOOKING_CHANGED = "booking_changed"  # ... moved to another slot, or its check-in undone by staff
    BOOKING_CANCELLED = "booking_cancelled"  # ... cancelled by its customer
    BOOKING_CHECKED_IN = "booking_checked_in"  # ... checked in: its ticket was issued (data: ticket, outcome)


_TRANSITIONS: dict[tuple[TicketState, Action], TicketState] = {
    (TicketState.WAITING, Action.CALL): TicketState.CALLED,
    (TicketState.CALLED, Action.RECALL): TicketState.CALLED,
    (TicketState.CALLED, Action.START): TicketState.SERVING,
    (TicketState.CALLED, Action.NO_SHOW): TicketState.NO_SHOW,
    (TicketState.CALLED, Action.RETURN_TO_QUEUE): TicketState.WAITING,
    (TicketState.SERVING, Action.FINISH): TicketState.DONE,
    (TicketState.SERVING, Action.PARK): TicketState.PARKED,
    (TicketState.PARKED, Action.RESUME): TicketState.SERVING,
    (TicketState.WAITING, Action.TRANSFER): TicketState.WAITING,
    (TicketState.CALLED, Action.TRANSFER): TicketState.WAITING,
    (TicketState.SERVING, Action.TRANSFER): TicketState.WAITING,
    (TicketState.WAITING, Action.CANCEL): TicketState.CANCELLED,
    (TicketState.NO_SHOW, Action.REACTIVATE): TicketState.WAITING,
    **{(state, Action.EXPIRE): TicketState.EXPIRED for state in TicketState if state.in_progress},
    (TicketState.NO_SHOW, Action.UNDO_NO_SHOW): TicketState.CALLED,
}

ACTION_EVENT: dict[Action, EventKind] = {
    Action.CALL: EventKind.CALLED,
    Action.RECALL: EventKind.RECALLED,
    Action.START: EventKind.SERVING,
    Action.FINISH: EventKind.FINISHED,
    Action.NO_SHOW: EventKind.NO_SHOW,
    Action.RETURN_TO_QUEUE: EventKind.RETURNED,
    Action.PARK: EventKind.PARKED,
    Action.RESUME: EventKind.RESUMED,
    Action.TRANSFER: EventKind.TRANSFERRED,
    Action.CANCEL: EventKind.CANCELLED,
    Action.REACTIVATE: EventKind.REACTIVATED,
    Action.EXPIRE: EventKind.EXPIRED,
    Action.UNDO_NO_SHOW: EventKind.NO_SHOW_UNDONE,
}


SYSTEM_ACTIONS: tuple[Action, ...] = (Action.EXPIRE,)
"""Actions the system takes on its own (the end of a service day), never offered to a person."""


def allowed_actions(state: TicketState) -> list[Action]:
    """The actions a person may take on a ticket in ``state``, in lifecycle order."""
    return [action for (source, action) in _TRANSITIONS if source == state and action not in SYSTEM_ACTIONS]


def counter_taking_kinds() -> tuple[EventKind, ...]:
    """The events after which a counter holds a ticket it did not hold before (a call, a resumed parked ticket,
    an undone no-show): the counter has taken up that customer."""
    return tuple(dict.fromkeys(ACTION_EVENT[action] for (source, action), target in _TRANSITIONS.items()
                               if target.holds_counter and not source.holds_counter))


def queue_keeping_kinds() -> tuple[EventKind, ...]:
    """The events of the actions that never put a ticket in the queue (a call, a cancellation, what happens at a
    counter): after them every ticket waiting waited before, its place among the others unchanged. A return to the
    queue, a transfer or a re-activation (a ticket waiting again) are not among them."""
    waits_again = {action for (_source, action), target in _TRANSITIONS.items() if target is TicketState.WAITING}
    return tuple(dict.fromkeys(ACTION_EVENT[action] for action in Action if action not in waits_again))


OFF_QUEUE_KINDS: tuple[EventKind, ...] = (
    EventKind.RATED, EventKind.PRINTED, EventKind.PRINT_FAILED, EventKind.FOLLOW_UP_OPENED,
    EventKind.FOLLOW_UP_ASSIGNED, EventKind.FOLLOW_UP_RESOLVED, EventKind.FOLLOW_UP_CHANGED, EventKind.MEDIA_CHANGED,
    EventKind.NOTICES_CHANGED, EventKind.DEVICE_OFFLINE, EventKind.DEVICE_ONLINE, EventKind.DEVICE_REVOKED,
)
"""Events that change neither a ticket's state nor a counter's, nor what the hall expects (a rating, a print, a
follow-up, the screens' media, a device's heartbeat)."""


def next_state(state: TicketState, action: Action) -> TicketState:
    """The state a ticket moves to, or :class:`IllegalTransition` naming what is allowed."""
    try:
        return _TRANSITIONS[(state, action)]
    except KeyError:
        allowed = ", ".join(a.value for a in allowed_actions(state)) or "nothing (final state)"
        raise IllegalTransition(
            f"cannot {action.value.replace('_', ' ')} a ticket that is {state.value.replace('_', ' ')}; "
            f"allowed: {allowed}",
            state=state.value,
            action=action.value,
        ) from None
