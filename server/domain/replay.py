"""What-if replay of a closed day: the day's real arrivals served again by its real counters, changed or not.

Input (:class:`Day`): each ticket of the day as it was issued (service, priority class, issue time) and how it
ended; the counters' shifts (when each was open, not paused, and with which services), read from the counter
events. A replay (:func:`replay`) serves the same arrivals with shifts, possibly changed (:class:`AddCounter`,
:class:`AddService`, :class:`CloseCounter`), calling with the project's policy (:mod:`server.domain.policy`).

What is kept from the day, and why:

- A ticket served that day keeps its own service time. One not served (walked out, no-show, left over) that the
  replay serves takes a service time drawn (seeded) from that service's service times of the day, or, when it
  served none, the configured expected time. Draws are made per ticket before the run (common random numbers):
  two replays of the same day and seed differ only by the change, not by luck.
- Patience from what happened: a customer who cancelled waited exactly until they cancelled; one found gone when
  called left somewhere before that call, taken as half their wait (they are served if called sooner, found gone
  otherwise, and the counter spends the day's no-show call time on them); everyone else waits as long as it takes.
- Counters call only inside their shifts; a shift that ends during a service finishes it. A ticket never called
  when the last shift ends is left over (expired), as the day's end would.

Times are minutes from the day's local midnight (``Day.origin``). No clock, no I/O: the same day, shifts and
seed give the same outcome. A day of a busy branch (1,556 tickets, 92 shifts of up to 33 counters) replays in
about 25 ms of CPU (``benchmarks/what_if_speed.py``): each counter's choice looks only at the head of each
(service, class) queue, the policy's call key being the ticket's queue key plus the counter's offset for that
service and class (:func:`server.domain.policy.counter_order`).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from server.domain.errors import DomainError
from server.domain.policy import CounterRole, CounterSkills, PolicyRules, QueuedTicket, counter_order, queue_key
from server.domain.service_day import percentile
from server.domain.tickets import EventKind, PriorityClass, TicketState

DAY_MINUTES = 24 * 60
MAX_CHANGES = 10
NO_SHOW_CALL_MIN = 1.0  # what a no-show's call costs the counter when the day recorded none


class Ending(StrEnum):
    """How a ticket's day ended, as the reports count it (walk-outs: cancelled and no-shows)."""

    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @classmethod
    def of(cls, state: TicketState) -> Ending:
        return {TicketState.DONE: cls.SERVED, TicketState.NO_SHOW: cls.NO_SHOW,
                TicketState.CANCELLED: cls.CANCELLED}.get(state, cls.EXPIRED)

    @property
    def walked_out(self) -> bool:
        return self in (Ending.NO_SHOW, Ending.CANCELLED)


@dataclass(frozen=True)
class DayTicket:
    """One ticket of the day as it happened (minutes from the day's midnight)."""

    ticket_id: int
    service: str
    priority: PriorityClass
    issued: float
    ending: Ending
    called: float | None = None  # first call
    service_min: float | None = None  # when served: from service start to finish
    left: float | None = None  # when cancelled: when the customer cancelled
    no_show_call_min: float | None = None  # when a no-show: from the call to the no-show

    @property
    def patience(self) -> float:
        """How long the customer would wait (see the module's notes)."""
        if self.ending is Ending.CANCELLED and self.left is not None:
            return max(0.0, self.left - self.issued)
        if self.ending is Ending.NO_SHOW and self.called is not None:
            return max(0.0, self.called - self.issued) / 2
        return math.inf


@dataclass(frozen=True)
class Shift:
    """A counter open (and not paused) from ``start`` to ``end`` serving ``services`` in order of preference."""

    counter: str
    start: float
    end: float
    services: tuple[str, ...]
    role: CounterRole = CounterRole.NORMAL

    @property
    def skills(self) -> CounterSkills:
        return CounterSkills(self.counter, self.services, self.role)


@dataclass(frozen=True)
class Day:
    """A closed day of a branch, ready to replay."""

    origin: datetime  # the day's local midnight, aware, in the branch's time zone
    tickets: tuple[DayTicket, ...]
    shifts: tuple[Shift, ...]
    target_min: Mapping[str, float]  # each service's target wait
    expected_service_min: Mapping[str, float]  # the configured service time, for a service that served none

    def hour_of(self, minute: float) -> int:
        """The local hour (0-23) at ``minute`` (summer time included)."""
        return (self.origin + timedelta(minutes=minute)).astimezone(self.origin.tzinfo).hour


# --- the counters' shifts from the day's events --------------------------------------------------------------

@dataclass(frozen=True)
class CounterEvent:
    """A counter's sign-in (with its services), pause, resume or sign-out, at ``minute``."""

    minute: float
    counter: str
    kind: EventKind
    services: tuple[str, ...] | None = None


SHIFT_EVENTS = (EventKind.COUNTER_SIGNED_IN, EventKind.COUNTER_SIGNED_OUT, EventKind.COUNTER_PAUSED,
                EventKind.COUNTER_RESUMED)


def shifts_from_events(events: Iterable[CounterEvent], end: float, configured: Mapping[str, tuple[str, ...]],
                       roles: Mapping[str, CounterRole] | None = None) -> list[Shift]:
    """The shifts the events describe, in order: a sign-in opens one (a second sign-in with other services ends
    it and opens the next), a pause ends it and a resume opens the next with the same services, a sign-out ends
    it; one still open at ``end`` ends there. A sign-in without services serves the counter's configured ones."""
    roles = roles or {}
    open_since: dict[str, tuple[float, tuple[str, ...]]] = {}
    serving: dict[str, tuple[str, ...]] = {}  # the services of a signed-in counter, paused or not
    shifts: list[Shift] = []

    def close(counter: str, at: float) -> None:
        if counter in open_since:
            start, services = open_since.pop(counter)
            if at > start and services:
                shifts.append(Shift(counter, start, at, services, roles.get(counter, CounterRole.NORMAL)))

    for event in sorted(events, key=lambda e: e.minute):
        counter = event.counter
        if event.kind is EventKind.COUNTER_SIGNED_IN:
            services = event.services if event.services is not None else configured.get(counter, ())
            close(counter, event.minute)
            serving[counter] = services
            open_since[counter] = (event.minute, services)
        elif event.kind is EventKind.COUNTER_PAUSED:
            close(counter, event.minute)
        elif event.kind is EventKind.COUNTER_RESUMED and counter in serving and counter not in open_since:
            open_since[counter] = (event.minute, serving[counter])
        elif event.kind is EventKind.COUNTER_SIGNED_OUT:
            close(counter, event.minute)
            serving.pop(counter, None)
    for counter in list(open_since):
        close(counter, end)
    return sorted(shifts, key=lambda s: (s.start, s.counter))


# --- the changes a manager asks about ------------------------------------------------------------------------

@dataclass(frozen=True)
class AddCounter:
    """One more counter from ``start`` to ``end`` serving ``services``."""

    start: float
    end: float
    services: tuple[str, ...]


@dataclass(frozen=True)
class AddService:
    """``counter`` also serves ``service`` (last in its preference) from ``start`` to ``end``."""

    counter: str
    service: str
    start: float
    end: float


@dataclass(frozen=True)
class CloseCounter:
    """``counter`` does not call from ``start`` to ``end``."""

    counter: str
    start: float
    end: float


Change = AddCounter | AddService | CloseCounter
ADDED_COUNTER = "+{n}"  # the name of the n-th added counter (never a configured number: those are codes)


def check_changes(changes: Sequence[Change], services: Iterable[str], counters: Iterable[str]) -> None:
    """400 naming the field (``changes[i].start``...) for a change that cannot apply to the branch."""
    known_services, known_counters = set(services), set(counters)
    if len(changes) > MAX_CHANGES:
        raise DomainError(f"at most {MAX_CHANGES} changes", code="too_many_changes", http_status=400,
                          parameter="changes")
    for index, change in enumerate(changes):
        where = f"changes[{index}]"
        if not 0 <= change.start < change.end <= DAY_MINUTES:
            raise DomainError(f"{where}.start must be before {where}.end, within the day", code="bad_change",
                              http_status=400, parameter=f"{where}.start")
        if isinstance(change, AddCounter):
            unknown = [s for s in change.services if s not in known_services]
            if not change.services or unknown or len(set(change.services)) != len(change.services):
                raise DomainError(f"{where}.services must name the branch's services, each once (unknown: "
                                  f"{', '.join(unknown) or 'none'})", code="bad_change", http_status=400,
                                  parameter=f"{where}.services")
            continue
        if change.counter not in known_counters:
            raise DomainError(f"{where}.counter: the branch has no counter {change.counter!r}", code="bad_change",
                              http_status=400, parameter=f"{where}.counter")
        if isinstance(change, AddService) and change.service not in known_services:
            raise DomainError(f"{where}.service: the branch has no service {change.service!r}", code="bad_change",
                              http_status=400, parameter=f"{where}.service")


def _cut(shift: Shift, start: float, end: float) -> tuple[list[Shift], Shift | None]:
    """The parts of ``shift`` outside [start, end), and the part inside (or None)."""
    outside = [replace(shift, end=min(shift.end, start))] if shift.start < start else []
    if shift.end > end:
        outside.append(replace(shift, start=max(shift.start, end)))
    inside = replace(shift, start=max(shift.start, start), end=min(shift.end, end))
    return [s for s in outside if s.end > s.start], inside if inside.end > inside.start else None


def apply_changes(shifts: Iterable[Shift], changes: Iterable[Change]) -> list[Shift]:
    """The shifts with the changes applied in order."""
    result = list(shifts)
    added = 0
    for change in changes:
        if isinstance(change, AddCounter):
            added += 1
            result.append(Shift(ADDED_COUNTER.format(n=added), change.start, change.end, change.services))
            continue
        changed: list[Shift] = []
        for shift in result:
            if shift.counter != change.counter:
                changed.append(shift)
                continue
            outside, inside = _cut(shift, change.start, change.end)
            changed.extend(outside)
            if inside is not None and isinstance(change, AddService):
                services = inside.services if change.service in inside.services else (*inside.services,
                                                                                       change.service)
                changed.append(replace(inside, services=services))
        result = changed
    return sorted(result, key=lambda s: (s.start, s.counter))


# --- the replay ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """How a ticket's day ends, actually or in a replay."""

    ticket_id: int
    service: str
    issued: float
    ending: Ending
    called: float | None = None


def actual(day: Day) -> list[Outcome]:
    """What happened, in the replay's terms."""
    return [Outcome(t.ticket_id, t.service, t.issued, t.ending, t.called) for t in day.tickets]


@dataclass
class _Waiting:
    ticket: DayTicket
    service_min: float
    no_show_min: float
    gone: bool = False  # called, or cancelled: no longer in the queue
    outcome: Outcome | None = None


def _draws(day: Day, seed: int) -> tuple[list[float], list[float]]:
    """Per ticket, in ticket order: its service time (its own when served, else drawn from its service's times of
    the day) and its no-show call time (its own, else drawn from the day's)."""
    rng = random.Random(seed)
    served: dict[str, list[float]] = {}
    for t in day.tickets:
        if t.service_min is not None:
            served.setdefault(t.service, []).append(t.service_min)
    no_show = [t.no_show_call_min for t in day.tickets if t.no_show_call_min is not None]
    service_times, no_show_times = [], []
    for t in day.tickets:
        pool = served.get(t.service)
        drawn = rng.choice(pool) if pool else day.expected_service_min.get(t.service, 5.0)
        service_times.append(t.service_min if t.service_min is not None else drawn)
        drawn_no_show = rng.choice(no_show) if no_show else NO_SHOW_CALL_MIN
        no_show_times.append(t.no_show_call_min if t.no_show_call_min is not None else drawn_no_show)
    return service_times, no_show_times


_ARRIVE, _WALK_OUT, _FREE, _SHIFT = 0, 1, 2, 3  # at one instant: arrivals first, then walk-outs, then calls


def replay(day: Day, shifts: Sequence[Shift], rules: PolicyRules, seed: int = 1) -> list[Outcome]:
    """Serve the day's arrivals with ``shifts``; every ticket ends exactly one way."""
    service_times, no_show_times = _draws(day, seed)
    minute_of = timedelta(minutes=1)
    queues: dict[tuple[str, PriorityClass], list[tuple[float, int, int]]] = {}
    entries = [_Waiting(t, s, n) for t, s, n in zip(day.tickets, service_times, no_show_times, strict=True)]
    by_counter: dict[str, list[Shift]] = {}
    for shift in shifts:
        by_counter.setdefault(shift.counter, []).append(shift)
    counters = sorted(by_counter)
    busy: dict[str, bool] = dict.fromkeys(counters, False)
    offsets: dict[CounterSkills, list[tuple[tuple[str, PriorityClass], float]]] = {}

    def offsets_of(skills: CounterSkills) -> list[tuple[tuple[str, PriorityClass], float]]:
        """Each (service, class) queue the counter calls from, with the minutes its order adds to the queue key."""
        if skills not in offsets:
            order = counter_order(skills, rules)
            offsets[skills] = [((service, priority), order.offset(service, priority) / minute_of)
                               for service in skills.services for priority in PriorityClass]
        return offsets[skills]

    def on_shift(counter: str, now: float) -> Shift | None:
        return next((s for s in by_counter[counter] if s.start <= now < s.end), None)

    events: list[tuple[float, int, int, Any]] = []
    sequence = 0

    def push(at: float, kind: int, payload: Any) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(events, (at, kind, sequence, payload))

    origin = day.origin
    for index, entry in enumerate(entries):
        push(entry.ticket.issued, _ARRIVE, index)
    for shift in shifts:
        push(shift.start, _SHIFT, shift.counter)

    def choose(shift: Shift) -> int | None:
        """The policy's choice among the heads of the queues the shift's counter may call."""
        best: tuple[float, int, int] | None = None
        for queue_name, offset in offsets_of(shift.skills):
            queue = queues.get(queue_name)
            while queue and entries[queue[0][2]].gone:
                heapq.heappop(queue)
            if queue:
                key, ticket_id, index = queue[0]
                candidate = (key + offset, ticket_id, index)
                if best is None or candidate < best:
                    best = candidate
        return None if best is None else best[2]

    def call(counter: str, index: int, now: float) -> None:
        entry = entries[index]
        entry.gone = True
        busy[counter] = True
        ticket = entry.ticket
        present = now - ticket.issued < ticket.patience
        ending = Ending.SERVED if present else Ending.NO_SHOW
        entry.outcome = Outcome(ticket.ticket_id, ticket.service, ticket.issued, ending, now)
        push(now + (entry.service_min if present else entry.no_show_min), _FREE, counter)

    def try_call(counter: str, now: float) -> None:
        if busy[counter]:
            return
        shift = on_shift(counter, now)
        if shift is not None and (index := choose(shift)) is not None:
            call(counter, index, now)

    while events:
        now, kind, _, payload = heapq.heappop(events)
        if kind == _ARRIVE:
            entry = entries[payload]
            ticket = entry.ticket
            queued = QueuedTicket(ticket.ticket_id, ticket.service, ticket.priority,
                                  origin + timedelta(minutes=ticket.issued))
            key = (queue_key(queued, rules) - origin) / minute_of
            heapq.heappush(queues.setdefault((ticket.service, ticket.priority), []), (key, ticket.ticket_id, payload))
            if ticket.ending is Ending.CANCELLED and math.isfinite(ticket.patience):
                push(ticket.issued + ticket.patience, _WALK_OUT, payload)
            # a counter with nothing to call was idle: this ticket is the only one it may want
            for counter in counters:
                if not busy[counter]:
                    shift = on_shift(counter, now)
                    if shift is not None and ticket.service in shift.services:
                        call(counter, payload, now)
                        break
        elif kind == _WALK_OUT:
            entry = entries[payload]
            if not entry.gone:
                entry.gone = True
                ticket = entry.ticket
                entry.outcome = Outcome(ticket.ticket_id, ticket.service, ticket.issued, Ending.CANCELLED)
        elif kind == _FREE:
            busy[payload] = False
            try_call(payload, now)
        else:
            try_call(payload, now)
    return [entry.outcome or Outcome(entry.ticket.ticket_id, entry.ticket.service, entry.ticket.issued,
                                     Ending.EXPIRED) for entry in entries]


# --- figures ---------------------------------------------------------------------------------------------------

@dataclass
class Figures:
    """Waits (issue to first call, minutes), service level and walk-outs of a set of tickets."""

    issued: int = 0
    served: int = 0
    walk_outs: int = 0
    left_over: int = 0
    waits: list[float] = field(default_factory=list)
    within_target: int = 0

    def add(self, outcome: Outcome, target: float | None) -> None:
        self.issued += 1
        self.served += outcome.ending is Ending.SERVED
        self.walk_outs += outcome.ending.walked_out
        self.left_over += outcome.ending is Ending.EXPIRED
        if outcome.called is not None:
            wait = outcome.called - outcome.issued
            self.waits.append(wait)
            self.within_target += target is not None and wait <= target + 1e-9

    def as_dict(self) -> dict[str, Any]:
        waits = self.waits
        return {"issued": self.issued, "served": self.served, "walk_outs": self.walk_outs,
                "left_over": self.left_over, "called": len(waits),
                "wait_mean_min": _round(sum(waits) / len(waits)) if waits else None,
                "wait_p80_min": _round(percentile(waits, 0.8)), "wait_p90_min": _round(percentile(waits, 0.9)),
                "service_level": round(self.within_target / len(waits), 4) if waits else None}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def figures(day: Day, outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """The day's totals, and per local hour of issue and per service (service level: the share of the called
    within their service's target wait, as the reports count it)."""
    total = Figures()
    hours: dict[int, Figures] = {}
    services: dict[str, Figures] = {}
    hour_of: dict[int, int] = {}  # by quarter hour: every time zone in use is whole quarter hours from UTC
    for outcome in outcomes:
        target = day.target_min.get(outcome.service)
        quarter = int(outcome.issued // 15)
        if quarter not in hour_of:
            hour_of[quarter] = day.hour_of(quarter * 15)
        for bucket in (total, hours.setdefault(hour_of[quarter], Figures()),
                       services.setdefault(outcome.service, Figures())):
            bucket.add(outcome, target)
    return {"totals": total.as_dict(),
            "hours": [{"hour": hour, **hours[hour].as_dict()} for hour in sorted(hours)],
            "services": [{"code": code, **services[code].as_dict()} for code in sorted(services)]}
