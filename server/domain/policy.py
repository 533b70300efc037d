"""The call-next policy: which waiting ticket a counter calls next.

One rule covers services, preference order, priority classes, counter roles, transfers and aging
(see docs/queue-policy.md for the reasoning and the proof of the bound):

    call_key(ticket, counter) = queued_at - head_start(ticket, counter) + rank(service) * preference_step

The counter calls the eligible ticket with the smallest key (ties: lowest ticket id). Because every
waiting ticket ages at the same rate, a head start of H minutes is exactly "aging": a ticket without
it overtakes the favoured one once it has waited H minutes longer. Hence the bound
(:func:`PolicyRules.pass_over_bound`): a ticket is never called after a ticket, eligible at the same
counter, that entered the queue more than ``pass_over_bound`` later than it did.

A ticket may carry a **not-before** instant (an appointment checked in before its slot), or be **awaiting arrival**
(taken on a phone, not checked in yet): until then no counter calls it (:func:`is_callable`), and it keeps its place
for when it may be called. The database's call-next
query filters the same way (``server/persistence/queue_queries.py``), checked against this module by tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import TypeVar

from server.domain.tickets import PriorityClass


class CounterRole(StrEnum):
    NORMAL = "normal"
    FAST_LANE = "fast_lane"  # 爱心/快速通道: gives priority-class tickets an extra head start
    VIP = "vip"  # VIP room or counter: gives VIP tickets an extra head start


T = TypeVar("T")

_ROLE_FAVOURS = {(CounterRole.VIP, PriorityClass.VIP), (CounterRole.FAST_LANE, PriorityClass.PRIORITY)}


@dataclass(frozen=True)
class QueuedTicket:
    """What the policy needs to know about one waiting ticket."""

    ticket_id: int
    service_code: str
    priority: PriorityClass
    queued_at: datetime
    target_counter: str | None = None
    transferred: bool = False
    not_before: datetime | None = None  # no counter calls it before this instant (an early appointment)
    awaiting_arrival: bool = False  # taken on a phone, not checked in at the hall yet (server/domain/remote.py)

    @property
    def callable_from(self) -> datetime | None:
        """The instant from which a counter may call it (None: now). The one field the policy, the estimator and
        the people-ahead counts consult, so that another reason to hold a ticket plugs in here alone."""
        return self.not_before


@dataclass(frozen=True)
class CounterSkills:
    """A counter's services in order of preference and its role."""

    counter: str
    services: tuple[str, ...]
    role: CounterRole = CounterRole.NORMAL

    def rank(self, service_code: str) -> int | None:
        try:
            return self.services.index(service_code)
        except ValueError:
            return None


def _default_head_starts() -> dict[PriorityClass, timedelta]:
    return {
        PriorityClass.NORMAL: timedelta(0),
        PriorityClass.PRIORITY: timedelta(minutes=15),
        PriorityClass.VIP: timedelta(minutes=15),
        PriorityClass.APPOINTMENT: timedelta(minutes=20),
    }


@dataclass(frozen=True)
class PolicyRules:
    """Tunable parameters of the policy; all are durations, read from ``[queue]`` in config.toml."""

    head_start: Mapping[PriorityClass, timedelta] = field(default_factory=_default_head_starts)
    role_head_start: timedelta = timedelta(minutes=30)
    preference_step: timedelta = timedelta(minutes=10)
    transfer_head_start: timedelta = timedelta(minutes=30)

    def ticket_head_start(self, ticket: QueuedTicket, counter: CounterSkills) -> timedelta:
        head_start = self.head_start.get(ticket.priority, timedelta(0))
        if (counter.role, ticket.priority) in _ROLE_FAVOURS:
            head_start += self.role_head_start
        if ticket.transferred:
            head_start += self.transfer_head_start
        return head_start

    def max_head_start(self) -> timedelta:
        return max(self.head_start.values(), default=timedelta(0)) + self.role_head_start + self.transfer_head_start

    def pass_over_bound(self, max_services_per_counter: int) -> timedelta:
        """How much later than a ticket another may enter the queue and still be called before it."""
        return self.max_head_start() + self.preference_step * max(max_services_per_counter - 1, 0)


def is_eligible(ticket: QueuedTicket, counter: CounterSkills) -> bool:
    """A counter may call a ticket of one of its services, unless the ticket was sent elsewhere."""
    if ticket.target_counter is not None and ticket.target_counter != counter.counter:
        return False
    return counter.rank(ticket.service_code) is not None or ticket.target_counter == counter.counter


def is_callable(ticket: QueuedTicket, now: datetime | None) -> bool:
    """A ticket may be called unless it is held until a later instant or its customer, who took it on a phone, has
    not checked in at the hall yet (``now`` None: any time, for the estimator's projections that look past the hold
    and count a customer on the way as one who will come)."""
    if now is None:
        return True
    held_until = ticket.callable_from
    return not ticket.awaiting_arrival and (held_until is None or held_until <= now)


def call_key(ticket: QueuedTicket, counter: CounterSkills, rules: PolicyRules) -> tuple[datetime, int]:
    """The sort key of ``ticket`` at ``counter``; smaller is called first."""
    rank = counter.rank(ticket.service_code)
    if rank is None:  # transferred to this counter specifically, whatever its services
        rank = 0
    key = ticket.queued_at - rules.ticket_head_start(ticket, counter) + rules.preference_step * rank
    return key, ticket.ticket_id


def call_order(counter: CounterSkills, waiting: Iterable[QueuedTicket], rules: PolicyRules) -> list[QueuedTicket]:
    """Every ticket this counter may call, in the order it would call them."""
    tickets = list(waiting)
    return [tickets[position] for _key, position in keyed_call_order(counter, tickets, rules)]


def keyed_call_order(counter: CounterSkills, waiting: Sequence[QueuedTicket], rules: PolicyRules,
                     pause: Callable[[], None] | None = None,
                     every: int = 256) -> list[tuple[tuple[datetime, int], int]]:
    """:func:`call_order` as ``(call key, position in waiting)``, each key computed once. ``pause`` is called
    every ``every`` tickets: over a long queue the caller may give way to other work meanwhile."""
    keyed = []
    for position, ticket in enumerate(waiting):
        if pause is not None and position % every == every - 1:
            pause()
        if is_eligible(ticket, counter):
            keyed.append((call_key(ticket, counter, rules), position))
    keyed.sort()
    return keyed


def choose_next(counter: CounterSkills, waiting: Sequence[QueuedTicket], rules: PolicyRules,
                now: datetime | None = None) -> QueuedTicket | None:
    """The ticket ``counter`` calls next at ``now``, or None when nothing it may serve is waiting (or callable)."""
    best: QueuedTicket | None = None
    best_key: tuple[datetime, int] | None = None
    for ticket in waiting:
        if not is_eligible(ticket, counter) or not is_callable(ticket, now):
            continue
        key = call_key(ticket, counter, rules)
        if best_key is None or key < best_key:
            best, best_key = ticket, key
    return best


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def microseconds(delta: timedelta) -> int:
    return delta // _MICROSECOND


def queue_key(ticket: QueuedTicket, rules: PolicyRules) -> datetime:
    """The part of :func:`call_key` that is the same at every counter: ``queued_at`` less the class and
    transfer head starts. Stored with each waiting ticket (``ticket.queue_key_us``) so that the database can
    find the next ticket and count the people ahead with index range scans."""
    head_start = rules.head_start.get(ticket.priority, timedelta(0))
    if ticket.transferred:
        head_start += rules.transfer_head_start
    return ticket.queued_at - head_start


def queue_key_us(ticket: QueuedTicket, rules: PolicyRules) -> int:
    """:func:`queue_key` as whole microseconds since 1970 (what the database stores and compares)."""
    return microseconds(queue_key(ticket, rules) - _EPOCH)


@dataclass(frozen=True)
class CounterOrder:
    """How one counter turns a ticket's queue key into its call key (see :func:`counter_order`).

    ``call_key = queue_key + service_offset[service] - (favour if priority is favoured)``, where a ticket
    sent to this counter for a service it does not normally serve has offset 0.
    """

    counter: str
    service_offset: Mapping[str, timedelta]
    favoured: PriorityClass | None
    favour: timedelta

    def offset(self, service_code: str, priority: PriorityClass) -> timedelta:
        offset = self.service_offset.get(service_code, timedelta(0))
        return offset - self.favour if priority == self.favoured else offset


def counter_order(counter: CounterSkills, rules: PolicyRules) -> CounterOrder:
    return _counter_order(counter, rules.preference_step, rules.role_head_start)


@cache
def _counter_order(counter: CounterSkills, preference_step: timedelta, role_head_start: timedelta) -> CounterOrder:
    """Memoised: a counter's order depends only on its skills and two rules, and the hot paths ask for it
    on every issue and call."""
    favoured = next((priority for role, priority in _ROLE_FAVOURS if role == counter.role), None)
    return CounterOrder(
        counter=counter.counter,
        service_offset=MappingProxyType({service: preference_step * rank
                                         for rank, service in enumerate(counter.services)}),
        favoured=favoured,
        favour=role_head_start if favoured is not None else timedelta(0),
    )


def counted_at(at_counters: Iterable[tuple[bool, T]]) -> list[tuple[bool, T]]:
    """The counters a customer's people ahead are counted at, from ``(counter is open, counter)`` for each counter
    that may call the ticket: the open ones, or, when none is open (before opening, say), all of them."""
    found = list(at_counters)
    return [item for item in found if item[0]] or found


def people_ahead(at_counters: Iterable[tuple[bool, int]]) -> int:
    """The people ahead a customer is told, from ``(counter is open, tickets it calls first)`` for each counter
    that may call the ticket: the fewest at the counters :func:`counted_at` keeps; 0 when no counter may call it.
    The issue answer, the phone page and the live side all count so."""
    return min((ahead for _, ahead in counted_at(at_counters)), default=0)


def called_before(other: QueuedTicket, me: QueuedTicket, counter: CounterSkills, rules: PolicyRules,
                  until: datetime | None = None) -> bool:
    """Whether ``counter`` calls ``other`` before ``me`` when ``me`` is expected to be called at ``until`` (None:
    not known): ``other`` is eligible there with the smaller call key, and may be called by then. A ticket held
    past ``until`` (an appointment checked in before its slot, or a booked customer not arrived yet) stands
    behind ``me`` however small its key: ``me``'s turn comes first. The rule of everyone's people ahead."""
    return (other.ticket_id != me.ticket_id and is_eligible(other, counter) and is_callable(other, turn(me, until))
            and call_key(other, counter, rules) < call_key(me, counter, rules))


def turn(me: QueuedTicket, expected: datetime | None) -> datetime | None:
    """When ``me``'s turn comes, expected at ``expected`` (None: not known): never before it may be called."""
    held_until = me.callable_from
    if expected is None or held_until is None:
        return expected
    return max(expected, held_until)


def count_ahead(me: QueuedTicket, counter: CounterSkills, waiting: Iterable[QueuedTicket], rules: PolicyRules,
                until: datetime | None = None) -> int:
    """How many waiting tickets ``counter`` would call before ``me``, expected to be called at ``until``
    (:func:`called_before`; pure reference version)."""
    return sum(1 for t in waiting if called_before(t, me, counter, rules, until))


def held_behind(me: QueuedTicket, counter: CounterSkills, held: Iterable[QueuedTicket], rules: PolicyRules,
                until: datetime | None) -> int:
    """Of the ``held`` tickets whose call key comes before ``me``'s at ``counter``, how many cannot be called by
    ``until`` and so are not ahead of it after all: what a count by call key alone (the database's, or a counter's
    call order) takes off to give :func:`count_ahead`."""
    return sum(1 for t in held if called_before(t, me, counter, rules) and not called_before(t, me, counter, rules,
                                                                                             until))
