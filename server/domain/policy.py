"""The call-next policy: which waiting ticket a counter calls next.

One rule covers services, preference order, priority classes, counter roles, transfers and aging
(see docs/queue-policy.md for the reasoning and the proof of the bound):

    call_key(ticket, counter) = queued_at - head_start(ticket, counter) + rank(service) * preference_step

The counter calls the eligible ticket with the smallest key (ties: lowest ticket id). Because every
waiting ticket ages at the same rate, a head start of H minutes is exactly "aging": a ticket without
it overtakes the favoured one once it has waited H minutes longer. Hence the bound
(:func:`PolicyRules.pass_over_bound`): a ticket is never called after a ticket, eligible at the same
counter, that entered the queue more than ``pass_over_bound`` later than it did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain.tickets import PriorityClass


class CounterRole(StrEnum):
    NORMAL = "normal"
    FAST_LANE = "fast_lane"  # 爱心/快速通道: gives priority-class tickets an extra head start
    VIP = "vip"  # VIP room or counter: gives VIP tickets an extra head start


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


def call_key(ticket: QueuedTicket, counter: CounterSkills, rules: PolicyRules) -> tuple[datetime, int]:
    """The sort key of ``ticket`` at ``counter``; smaller is called first."""
    rank = counter.rank(ticket.service_code)
    if rank is None:  # transferred to this counter specifically, whatever its services
        rank = 0
    key = ticket.queued_at - rules.ticket_head_start(ticket, counter) + rules.preference_step * rank
    return key, ticket.ticket_id


def call_order(counter: CounterSkills, waiting: Iterable[QueuedTicket], rules: PolicyRules) -> list[QueuedTicket]:
    """Every ticket this counter may call, in the order it would call them."""
    eligible = [t for t in waiting if is_eligible(t, counter)]
    eligible.sort(key=lambda t: call_key(t, counter, rules))
    return eligible


def choose_next(counter: CounterSkills, waiting: Sequence[QueuedTicket], rules: PolicyRules) -> QueuedTicket | None:
    """The ticket ``counter`` calls next, or None when nothing it may serve is waiting."""
    best: QueuedTicket | None = None
    best_key: tuple[datetime, int] | None = None
    for ticket in waiting:
        if not is_eligible(ticket, counter):
            continue
        key = call_key(ticket, counter, rules)
        if best_key is None or key < best_key:
            best, best_key = ticket, key
    return best


@dataclass(frozen=True)
class AheadGroup:
    """One kind of waiting ticket, and how much earlier than a given ticket it may have queued to be ahead.

    A waiting ticket of this kind is called before the given one at the counter iff its ``queued_at`` is
    earlier than ``me.queued_at + offset`` (or equal to it, with a lower ticket id). This lets a database
    count the people ahead without loading the queue; :func:`ahead_groups` derives it from :func:`call_key`.
    """

    service_code: str | None  # None: tickets sent to this counter for a service it does not normally serve
    priority: PriorityClass
    transferred: bool
    offset: timedelta


def ahead_groups(me: QueuedTicket, counter: CounterSkills, rules: PolicyRules) -> list[AheadGroup]:
    """Every kind of ticket that can be eligible at ``counter``, with its offset relative to ``me``.

    The offsets do not depend on ``me.queued_at``, so callers may cache them per kind of ``me``.
    """
    my_key, _ = call_key(me, counter, rules)
    my_offset = my_key - me.queued_at
    groups: list[AheadGroup] = []
    services: list[str | None] = [*counter.services, None]
    for service in services:
        rank = 0 if service is None else counter.services.index(service)
        for priority in PriorityClass:
            for transferred in (False, True):
                probe = QueuedTicket(0, service or "", priority, me.queued_at, None, transferred)
                head_start = rules.ticket_head_start(probe, counter)
                groups.append(AheadGroup(service, priority, transferred,
                                         my_offset + head_start - rules.preference_step * rank))
    return groups


def count_ahead(me: QueuedTicket, counter: CounterSkills, waiting: Iterable[QueuedTicket], rules: PolicyRules) -> int:
    """How many eligible waiting tickets ``counter`` would call before ``me`` (pure reference version)."""
    mine = call_key(me, counter, rules)
    return sum(1 for t in waiting if t.ticket_id != me.ticket_id and is_eligible(t, counter)
               and call_key(t, counter, rules) < mine)
