"""How tickets, counters and the hall look to the outside: public (no names, notes or tokens) or staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.domain.counter_session import CounterSession
from server.domain.hall import Branch, Counter, Service
from server.domain.policy import CounterSkills
from server.domain.privacy import mask_phone_like
from server.domain.remote import ServiceRemote, awaiting_arrival, hold_expires_at
from server.domain.schedule import OpeningStatus, ScheduleException, WeeklyHours
from server.domain.ticket import Ticket
from server.domain.tickets import ACTION_EVENT, SYSTEM_ACTIONS, Action, EventKind, TicketState, allowed_actions
from server.persistence.tables import TicketRow

TicketFacts = Ticket | TicketRow
"""A ticket as a command holds it (domain) or as a report query reads it (row): views read either."""


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def weekly_view(weekly: WeeklyHours) -> dict[str, Any]:
    """Usual hours: ``hours`` for every day and ``hours_by_day`` for the weekdays that differ ("closed" or
    "09:00-12:00, 13:30-17:00", branch-local)."""
    return {"hours": str(weekly.default), "hours_by_day": {day: str(h) for day, h in weekly.by_day().items()}}


def exception_view(exception: ScheduleException) -> dict[str, Any]:
    return {"date": exception.first.isoformat(), "until": exception.last.isoformat(), "hours": str(exception.hours),
            "name": exception.name.as_dict() if exception.name else None, "services": list(exception.services)}


def opening_view(status: OpeningStatus) -> dict[str, Any]:
    """Whether it takes tickets now, today's hours, and the instants a screen shows or waits for."""
    return {
        "open": status.open,
        "hours_today": str(status.today),
        "opens_at": iso(status.opens_at),
        "open_until": iso(status.open_until),
        "closes_at": iso(status.closes_at),
        "closed_for": status.closed_for.as_dict() if status.closed_for else None,
    }


def service_view(service: Service, branch: Branch) -> dict[str, Any]:
    return {
        "code": service.code,
        "prefix": service.prefix,
        "name": service.name.as_dict(),
        "parent": service.parent,
        "icon": service.icon,
        "colour": service.colour,
        **weekly_view(branch.schedule.weekly(service.code)),
        "target_wait_min": service.target_wait.total_seconds() / 60,
        "expected_service_min": service.expected_service.total_seconds() / 60,
        "daily_cap": service.daily_cap,
        "last_ticket": None if service.last_ticket is None else str(service.last_ticket),
    }


def callable_from(held_until: datetime | None, branch: Branch) -> dict[str, str | None]:
    """A waiting ticket's ``callable_from`` (ISO) and ``callable_from_time`` (HH:MM in the branch's time zone) as the
    customer's pages show them: None both when no hold is still to come."""
    if held_until is None:
        return {"callable_from": None, "callable_from_time": None}
    return {"callable_from": iso(held_until),
            "callable_from_time": held_until.astimezone(branch.timezone).strftime("%H:%M")}
def service_remote(branch: Branch, service_code: str) -> ServiceRemote:
    """The service's set-up for joining from a phone (off for a service that is gone)."""
    service = branch.service(service_code)
    return service.remote if service is not None else ServiceRemote()


def check_in_by(ticket: TicketFacts, branch: Branch) -> datetime | None:
    """Until when a remote ticket held aside at the front may still check in (None: not held, or checked in)."""
    if not awaiting_arrival(bool(ticket.remote), ticket.arrived_at):
        return None
    return hold_expires_at(ticket.held_since, service_remote(branch, ticket.service_code).allowance)


def ticket_public(ticket: TicketFacts, branch: Branch) -> dict[str, Any]:
    """What any screen in the hall may show about a ticket."""
    service = branch.service(ticket.service_code)
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service_code,
        "service_name": service.name.as_dict() if service else None,
        "state": ticket.state,
        "counter": ticket.counter_number,
        "recall_count": ticket.recall_count,
        "issued_at": iso(ticket.issued_at),
        "called_at": iso(ticket.called_at),
        "version": ticket.version,
        "remote": bool(ticket.remote),
        "awaiting_arrival": awaiting_arrival(bool(ticket.remote), ticket.arrived_at),
        "check_in_by": iso(check_in_by(ticket, branch)),
    }


def ticket_staff(ticket: TicketFacts, branch: Branch) -> dict[str, Any]:
    """The staff view adds the priority class, routing, notes and who handled it."""
    return {
        **ticket_public(ticket, branch),
        "priority": ticket.priority,
        "issued_service": ticket.issued_service_code,
        "channel": ticket.channel,
        "queued_at": iso(ticket.queued_at),
        "service_started_at": iso(ticket.service_started_at),
        "finished_at": iso(ticket.finished_at),
        "no_show_at": iso(ticket.no_show_at),
        "target_counter": ticket.target_counter,
        "transferred": ticket.transferred,
        "transfer_note": mask_phone_like(ticket.transfer_note),  # staff see notes with phone-like numbers masked
        "staff": ticket.staff_username,
        "allowed_actions": [action.value for action in allowed_actions(TicketState(ticket.state))],
    }


def services_today(counter: Counter, session: CounterSession | None) -> tuple[str, ...]:
    """The services a counter serves now (see :meth:`CounterSession.services_today`)."""
    return counter.services if session is None else session.services_today(counter.services)


def skills_today(counter: Counter, session: CounterSession | None) -> CounterSkills:
    """The call-next policy's view of a counter today (see :func:`services_today`)."""
    return CounterSkills(counter=counter.number, services=services_today(counter, session), role=counter.role)


def counter_status(session: CounterSession | None) -> str:
    return "closed" if session is None else session.status


def counter_view(counter: Counter, session: CounterSession | None, current: TicketFacts | None, branch: Branch,
                 *, staff: bool = False, names: Callable[[str | None], str | None] | None = None) -> dict[str, Any]:
    """A counter as a screen shows it; ``staff``: the staff view, with who is signed in (``staff``, the user name,
    for programs; ``staff_name``, from ``names``, what people read)."""
    view: dict[str, Any] = {
        "number": counter.number,
        "name": counter.name.as_dict(),
        "services": list(services_today(counter, session)),
        "configured_services": list(counter.services),
        "role": counter.role.value,
        "status": counter_status(session),
        "current": None if current is None else {
            "number": current.number, "service": current.service_code, "state": current.state,
            "called_at": iso(current.called_at),
        },
    }
    if staff:
        view["staff"] = session.staff_username if session else None
        view["staff_name"] = names(view["staff"]) if names is not None else view["staff"]
        view["pause_reason"] = session.pause_reason if session and session.paused else None
        view["paused_at"] = iso(session.paused_at) if session and session.paused else None
        view["current"] = None if current is None else ticket_staff(current, branch)
    return view


# --- what the browser is told about the domain ------------------------------------------------------------

CALL_KINDS = (ACTION_EVENT[Action.CALL], ACTION_EVENT[Action.RECALL])
COUNTER_KINDS = (EventKind.COUNTER_SIGNED_IN, EventKind.COUNTER_SIGNED_OUT, EventKind.COUNTER_PAUSED,
                 EventKind.COUNTER_RESUMED)
TICKET_KINDS = tuple(dict.fromkeys(ACTION_EVENT.values()))


def vocabulary() -> dict[str, Any]:
    """The domain's states, event kinds and actions as the pages use them (in each page's bootstrap JSON), so
    that no page script keeps its own copy of the ticket state machine."""
    return {
        "states": [state.value for state in TicketState],
        "counter_states": [state.value for state in TicketState if state.holds_counter],
        "final_states": [state.value for state in TicketState if state.is_final],
        "withdrawn_call_states": [state.value for state in TicketState if not state.keeps_its_call],
        "reactivatable_states": [state.value for state in TicketState if Action.REACTIVATE in allowed_actions(state)],
        "event_kinds": [kind.value for kind in EventKind],
        "ticket_kinds": [kind.value for kind in TICKET_KINDS],
        "call_kinds": [kind.value for kind in CALL_KINDS],
        "counter_kinds": [kind.value for kind in COUNTER_KINDS],
        "actions": [action.value for action in Action if action not in SYSTEM_ACTIONS],
        "allowed_actions": {state.value: [a.value for a in allowed_actions(state)] for state in TicketState},
    }


def holds_counter(ticket: TicketFacts, counter: str) -> bool:
    """After an event that moved ``ticket`` at ``counter``: whether the counter now holds it (called, serving
    there); otherwise the counter is free, since a counter holds one ticket at a time. Every lifecycle event
    naming a counter carries this (``holds_counter``), so that screens set a counter's number from the event's
    ticket instead of working the state machine out themselves. Ratings and follow-ups name a finished ticket's
    counter without changing what it holds, and carry none."""
    return TicketState(ticket.state).holds_counter and ticket.counter_number == counter
