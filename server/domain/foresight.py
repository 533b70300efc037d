"""What the live projection knows of the branch's next hours, and from where (docs/wait-estimates.md, "what the
projection knows of the future").

* **Counters.** When the day has a roster, the counters' openings, closings and breaks come from it
  (:func:`rostered_counters`, from :func:`server.domain.roster.counter_changes`); without one, from the hours each
  counter usually keeps (:func:`server.domain.estimation.with_usual_hours`).
* **Booked appointments** not checked in yet are arrivals known in advance (:func:`booked_arrivals`): each is
  demand of its service at its slot's start, of the ``appointment`` class, so a walk-in whose counter would call
  the booked customer first is told so.

Pure: the caller reads the roster and the bookings (:class:`server.services.live.LiveHall`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from server.domain.estimation import (
    BookedArrival,
    BranchModel,
    CounterState,
    CounterStatus,
    QueueSnapshot,
    with_usual_hours,
)
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket, called_before, is_eligible
from server.domain.roster import CounterChange, CounterChangeKind

LATE_ARRIVAL = timedelta(minutes=15)
"""How long after its slot starts a booking not checked in still counts as a customer on the way."""


@dataclass(frozen=True)
class BookedSlot:
    """Bookings of one slot of one service not checked in yet (as the database counts them)."""

    service_code: str
    start: datetime
    count: int


def rostered_counters(counters: Sequence[CounterState], changes: Sequence[CounterChange],
                      now: datetime) -> list[CounterState]:
    """The counters as the roster says they will be: each one's spans of calling from now on, from its rostered
    openings and closings after ``now`` (``changes``, in time order).

    A counter signed in now calls until its first rostered closing; one rostered to open again later has the time
    between as a break, and stops at its last closing. A closed counter rostered to open gets ``opens_at`` and the
    services it is rostered with. A counter the roster does not change stays as it is: a person signed in off the
    roster is there; one rostered but not signed in is late, and when they come is not known.
    """
    by_counter: dict[str, list[CounterChange]] = {}
    for change in changes:
        if change.at > now:
            by_counter.setdefault(change.counter, []).append(change)
    result = []
    for counter in counters:
        found = by_counter.get(counter.skills.counter, [])
        calling = counter.status is not CounterStatus.CLOSED
        starts: list[datetime] = [now] if calling else []
        ends: list[datetime | None] = [None] if calling else []
        services: tuple[str, ...] = ()
        for change in found:  # a handover closes before it opens (counter_changes' order)
            if change.kind == CounterChangeKind.OPEN and not calling:
                starts.append(change.at)
                ends.append(None)
                services = services or change.services
                calling = True
            elif change.kind == CounterChangeKind.CLOSE and calling:
                ends[-1] = change.at
                calling = False
        if not starts:
            result.append(counter)
            continue
        breaks = tuple((end, start) for end, start in zip(ends, starts[1:], strict=False)
                       if end is not None and start > end)
        closed_now = counter.status is CounterStatus.CLOSED
        result.append(replace(
            counter, skills=replace(counter.skills, services=services) if closed_now and services else counter.skills,
            opens_at=starts[0] if closed_now else None, closes_at=ends[-1], breaks=breaks))
    return result


def booked_arrivals(slots: Iterable[BookedSlot], now: datetime) -> list[BookedArrival]:
    """One arrival per booking not checked in: at its slot's start, or now for a customer already late (up to
    :data:`LATE_ARRIVAL`; later than that, they are taken not to come)."""
    arrivals = []
    for slot in slots:
        if slot.start + LATE_ARRIVAL < now or slot.count <= 0:
            continue
        at = max(slot.start, now)
        arrivals += [BookedArrival(at, slot.service_code)] * slot.count
    return sorted(arrivals, key=lambda a: (a.at, a.service_code))


def foreseen(snapshot: QueueSnapshot, model: BranchModel, changes: Sequence[CounterChange] | None,
             booked: Sequence[BookedArrival] | None) -> QueueSnapshot:
    """The snapshot the live side projects: counters from the roster (``changes``; None when the day has no
    roster: the usual hours instead), and the booked arrivals (None: bookings unknown)."""
    if changes is None:
        snapshot = with_usual_hours(snapshot, model)
    else:
        snapshot = replace(snapshot, counters=rostered_counters(snapshot.counters, changes, snapshot.now))
    return replace(snapshot, booked=None if booked is None else list(booked))


def booked_first(booked: Iterable[BookedArrival], me: QueuedTicket, counter: CounterSkills, rules: PolicyRules,
                 until: datetime) -> int:
    """How many booked customers ``counter`` would call before ``me``: those of its services arriving by ``until``
    (when ``me`` is expected to be called) whose call key, queued at their slot, comes before ``me``'s. The people
    ahead a walk-in is told count them (a booked slot in ten minutes, with the appointment class's head start, is
    called before a walk-in still waiting then)."""
    if not is_eligible(me, counter):
        return 0
    return sum(1 for arrival in booked if arrival.service_code in counter.services
               and called_before(arrival_ticket(arrival), me, counter, rules, until))


LATER_TICKET_ID = 2 ** 62
"""The id a ticket not taken yet stands under: it will be issued after every ticket there now."""


def arrival_ticket(arrival: BookedArrival) -> QueuedTicket:
    """A booked customer as the ticket they will hold: queued at their slot, callable from their arrival."""
    return QueuedTicket(ticket_id=LATER_TICKET_ID, service_code=arrival.service_code, priority=arrival.priority,
                        queued_at=arrival.at, not_before=arrival.at)
