"""The call-next policy: hand-built cases and hypothesis properties over random halls."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.domain.policy import (
    CounterRole,
    CounterSkills,
    PolicyRules,
    QueuedTicket,
    call_key,
    call_order,
    choose_next,
    count_ahead,
    counter_order,
    is_eligible,
    queue_key,
    queue_key_us,
)
from server.domain.tickets import PriorityClass

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RULES = PolicyRules()  # the documented defaults: 15/15/20 head starts, role 30, step 10, transfer 30


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ticket(
    ticket_id: int,
    service: str,
    minutes: float,
    priority: PriorityClass = PriorityClass.NORMAL,
    *,
    target: str | None = None,
    transferred: bool = False,
) -> QueuedTicket:
    return QueuedTicket(ticket_id, service, priority, at(minutes), target_counter=target, transferred=transferred)


def counter(number: str, *services: str, role: CounterRole = CounterRole.NORMAL) -> CounterSkills:
    return CounterSkills(counter=number, services=tuple(services), role=role)


# --- hand-built cases --------------------------------------------------------------------------------


def test_nothing_waiting_means_nothing_to_call() -> None:
    assert choose_next(counter("1", "BILL"), [], RULES) is None
    assert call_order(counter("1", "BILL"), [], RULES) == []


def test_a_counter_never_calls_a_service_it_does_not_serve() -> None:
    waiting = [ticket(1, "PLAN", 0), ticket(2, "BROADBAND", 1)]
    assert choose_next(counter("1", "BILL"), waiting, RULES) is None
    assert choose_next(counter("2", "BILL", "PLAN"), waiting, RULES) == waiting[0]


def test_first_service_before_second_when_both_are_fresh() -> None:
    c = counter("2", "BILL", "PLAN")
    plan = ticket(1, "PLAN", 0)
    bill = ticket(2, "BILL", 9)  # arrived 9 min later: less than preference_step (10 min)
    assert choose_next(c, [plan, bill], RULES) == bill
    assert call_order(c, [plan, bill], RULES) == [bill, plan]


def test_second_service_waiting_longer_than_preference_step_overtakes() -> None:
    c = counter("2", "BILL", "PLAN")
    plan = ticket(1, "PLAN", 0)
    bill = ticket(2, "BILL", 11)  # the PLAN ticket has waited 11 min longer than the step of 10
    assert choose_next(c, [plan, bill], RULES) == plan


def test_preference_tie_goes_to_the_lower_ticket_id() -> None:
    c = counter("2", "BILL", "PLAN")
    plan = ticket(1, "PLAN", 0)
    bill = ticket(2, "BILL", 10)  # exactly one step later: equal keys
    assert call_key(plan, c, RULES)[0] == call_key(bill, c, RULES)[0]
    assert choose_next(c, [bill, plan], RULES) == plan


def test_third_service_is_two_steps_behind() -> None:
    c = counter("3", "PLAN", "SIM", "BILL")
    bill = ticket(1, "BILL", 0)
    plan = ticket(2, "PLAN", 19)
    assert choose_next(c, [bill, plan], RULES) == plan
    plan_late = ticket(3, "PLAN", 21)
    assert choose_next(c, [bill, plan_late], RULES) == bill


def test_priority_class_gets_its_head_start() -> None:
    c = counter("2", "BILL")
    normal = ticket(1, "BILL", 0)
    elderly = ticket(2, "BILL", 14, PriorityClass.PRIORITY)  # 15 min head start
    assert choose_next(c, [normal, elderly], RULES) == elderly
    elderly_late = ticket(3, "BILL", 16, PriorityClass.PRIORITY)
    assert choose_next(c, [normal, elderly_late], RULES) == normal


def test_appointment_head_start_is_twenty_minutes() -> None:
    c = counter("2", "BILL")
    normal = ticket(1, "BILL", 0)
    assert choose_next(c, [normal, ticket(2, "BILL", 19, PriorityClass.APPOINTMENT)], RULES).ticket_id == 2
    assert choose_next(c, [normal, ticket(3, "BILL", 21, PriorityClass.APPOINTMENT)], RULES).ticket_id == 1


def test_vip_gets_the_role_head_start_only_at_a_vip_counter() -> None:
    vip_room = counter("8", "PLAN", role=CounterRole.VIP)
    ordinary = counter("4", "PLAN")
    normal = ticket(1, "PLAN", 0)
    vip = ticket(2, "PLAN", 40, PriorityClass.VIP)  # 15 + 30 = 45 min at the VIP room, 15 elsewhere
    assert choose_next(vip_room, [normal, vip], RULES) == vip
    assert choose_next(ordinary, [normal, vip], RULES) == normal
    vip_very_late = ticket(3, "PLAN", 46, PriorityClass.VIP)
    assert choose_next(vip_room, [normal, vip_very_late], RULES) == normal


def test_fast_lane_favours_priority_tickets_not_vip() -> None:
    fast_lane = counter("1", "BILL", role=CounterRole.FAST_LANE)
    ordinary = counter("2", "BILL")
    normal = ticket(1, "BILL", 0)
    elderly = ticket(2, "BILL", 40, PriorityClass.PRIORITY)
    vip = ticket(3, "BILL", 40, PriorityClass.VIP)
    assert choose_next(fast_lane, [normal, elderly], RULES) == elderly
    assert choose_next(ordinary, [normal, elderly], RULES) == normal
    assert choose_next(fast_lane, [normal, vip], RULES) == normal  # the fast lane is not a VIP counter


def test_transfer_to_a_specific_counter_is_only_eligible_there() -> None:
    sent = ticket(1, "BILL", 0, target="3", transferred=True)
    counter_1 = counter("1", "BILL", "SIM", role=CounterRole.FAST_LANE)
    counter_2 = counter("2", "BILL", "PLAN")
    counter_3 = counter("3", "PLAN", "SIM", "BILL")
    assert not is_eligible(sent, counter_1)
    assert not is_eligible(sent, counter_2)
    assert is_eligible(sent, counter_3)
    assert choose_next(counter_1, [sent], RULES) is None
    assert choose_next(counter_2, [sent], RULES) is None
    assert choose_next(counter_3, [sent], RULES) == sent


def test_transfer_to_a_counter_that_does_not_serve_the_service_is_eligible_there() -> None:
    sent = ticket(1, "DEVICE", 0, target="4", transferred=True)
    counter_4 = counter("4", "PLAN", "BROADBAND")
    assert is_eligible(sent, counter_4)
    assert not is_eligible(sent, counter("6", "DEVICE", "PLAN"))
    assert choose_next(counter_4, [ticket(2, "PLAN", -5), sent], RULES) == sent


def test_transferred_tickets_go_first_with_the_transfer_head_start() -> None:
    c = counter("4", "PLAN")
    transferred = ticket(1, "PLAN", 0, transferred=True)  # keeps its place, plus 30 min
    waited_longer = ticket(2, "PLAN", -29)
    assert choose_next(c, [waited_longer, transferred], RULES) == transferred
    waited_much_longer = ticket(3, "PLAN", -31)
    assert choose_next(c, [waited_much_longer, transferred], RULES) == waited_much_longer


def test_keep_place_transfers_have_no_head_start() -> None:
    rules = replace(RULES, transfer_head_start=timedelta(0))
    c = counter("4", "PLAN")
    transferred = ticket(1, "PLAN", 0, transferred=True)
    earlier = ticket(2, "PLAN", -1)
    assert choose_next(c, [transferred, earlier], rules) == earlier


def test_head_starts_add_up() -> None:
    vip_room = counter("8", "VIP", role=CounterRole.VIP)
    t = ticket(1, "VIP", 0, PriorityClass.VIP, transferred=True)
    assert RULES.ticket_head_start(t, vip_room) == timedelta(minutes=15 + 30 + 30)
    assert RULES.max_head_start() == timedelta(minutes=20 + 30 + 30)
    assert RULES.pass_over_bound(3) == timedelta(minutes=80 + 2 * 10)
    assert RULES.pass_over_bound(1) == RULES.max_head_start()
    assert RULES.pass_over_bound(0) == RULES.max_head_start()


def test_choose_next_and_call_order_agree_on_ties() -> None:
    c = counter("2", "BILL")
    same_time = [ticket(5, "BILL", 0), ticket(3, "BILL", 0), ticket(4, "BILL", 0)]
    assert choose_next(c, same_time, RULES).ticket_id == 3
    assert [t.ticket_id for t in call_order(c, same_time, RULES)] == [3, 4, 5]


# --- random halls ----------------------------------------------------------------------------------

SERVICES = ("S0", "S1", "S2", "S3", "S4")
COUNTER_NAMES = ("1", "2", "3", "4", "5")
MAX_TICKETS = 40

minutes = st.integers(min_value=0, max_value=90).map(lambda m: timedelta(minutes=m))


@st.composite
def rules_strategy(draw: st.DrawFn) -> PolicyRules:
    return PolicyRules(
        head_start={
            PriorityClass.NORMAL: timedelta(0),
            PriorityClass.PRIORITY: draw(minutes),
            PriorityClass.VIP: draw(minutes),
            PriorityClass.APPOINTMENT: draw(minutes),
        },
        role_head_start=draw(minutes),
        preference_step=draw(minutes),
        transfer_head_start=draw(minutes),
    )


@st.composite
def counters_strategy(draw: st.DrawFn) -> list[CounterSkills]:
    count = draw(st.integers(min_value=1, max_value=len(COUNTER_NAMES)))
    result = []
    for name in COUNTER_NAMES[:count]:
        # a subset of the services in a random preference order
        services = draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=len(SERVICES), unique=True))
        role = draw(st.sampled_from(CounterRole))
        result.append(CounterSkills(counter=name, services=tuple(services), role=role))
    return result


@st.composite
def ticket_strategy(draw: st.DrawFn, ticket_id: int, counters: list[CounterSkills]) -> QueuedTicket:
    transferred = draw(st.booleans())
    target = None
    if transferred:
        target = draw(st.one_of(st.none(), st.sampled_from([c.counter for c in counters])))
    return QueuedTicket(
        ticket_id=ticket_id,
        service_code=draw(st.sampled_from(SERVICES)),
        priority=draw(st.sampled_from(PriorityClass)),
        # second resolution over four hours: plenty of equal and near-equal times
        queued_at=T0 + timedelta(seconds=draw(st.integers(min_value=0, max_value=4 * 3600))),
        target_counter=target,
        transferred=transferred,
    )


@st.composite
def hall_strategy(draw: st.DrawFn) -> tuple[PolicyRules, list[CounterSkills], list[QueuedTicket]]:
    rules = draw(rules_strategy())
    counters = draw(counters_strategy())
    size = draw(st.integers(min_value=0, max_value=MAX_TICKETS))
    ids = draw(st.lists(st.integers(min_value=1, max_value=10_000), min_size=size, max_size=size, unique=True))
    waiting = [draw(ticket_strategy(i, counters)) for i in ids]
    return rules, counters, waiting


def bound_for(rules: PolicyRules, counters: list[CounterSkills]) -> timedelta:
    return rules.pass_over_bound(max(len(c.services) for c in counters))


def same_fifo_group(a: QueuedTicket, b: QueuedTicket) -> bool:
    """Tickets that must be served first-come first-served among themselves."""
    return (
        a.priority == b.priority
        and a.service_code == b.service_code
        and not a.transferred
        and not b.transferred
        and a.target_counter is None
        and b.target_counter is None
    )


def assert_fair(chosen: QueuedTicket, others: list[QueuedTicket], counter_: CounterSkills, bound: timedelta) -> None:
    """``chosen`` is called now at ``counter_`` although every ticket of ``others`` still waits there."""
    for other in others:
        if other.ticket_id == chosen.ticket_id or not is_eligible(other, counter_):
            continue
        if same_fifo_group(chosen, other):
            assert not other.queued_at < chosen.queued_at, f"FIFO broken: {chosen} called before {other}"
        assert not chosen.queued_at - other.queued_at > bound, (
            f"{chosen} entered {chosen.queued_at - other.queued_at} after {other} (bound {bound}) but was called first"
        )


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(hall_strategy())
def test_choose_next_returns_an_eligible_ticket_or_none_only_if_none_is_eligible(hall) -> None:
    rules, counters, waiting = hall
    for c in counters:
        chosen = choose_next(c, waiting, rules)
        eligible = [t for t in waiting if is_eligible(t, c)]
        if chosen is None:
            assert eligible == []
        else:
            assert chosen in waiting
            assert is_eligible(chosen, c)
            assert c.rank(chosen.service_code) is not None or chosen.target_counter == c.counter
            # the smallest key wins, and choose_next agrees with call_order
            assert call_key(chosen, c, rules) == min(call_key(t, c, rules) for t in eligible)
            assert call_order(c, waiting, rules)[0] == chosen


@FAST
@given(hall_strategy())
def test_call_order_holds_every_eligible_ticket_once(hall) -> None:
    rules, counters, waiting = hall
    for c in counters:
        order = call_order(c, waiting, rules)
        assert sorted(t.ticket_id for t in order) == sorted(t.ticket_id for t in waiting if is_eligible(t, c))
        keys = [call_key(t, c, rules) for t in order]
        assert keys == sorted(keys)


@FAST
@given(hall_strategy())
def test_fifo_within_one_priority_class_and_service(hall) -> None:
    rules, counters, waiting = hall
    for c in counters:
        order = call_order(c, waiting, rules)
        for i, earlier_called in enumerate(order):
            for later_called in order[i + 1 :]:
                if same_fifo_group(earlier_called, later_called):
                    assert earlier_called.queued_at <= later_called.queued_at


@FAST
@given(hall_strategy())
def test_pass_over_bound_holds_for_every_pair_at_every_counter(hall) -> None:
    rules, counters, waiting = hall
    bound = bound_for(rules, counters)
    for c in counters:
        order = call_order(c, waiting, rules)
        for i, first in enumerate(order):
            for second in order[i + 1 :]:
                # ``first`` is called before ``second``: it may not have entered more than ``bound`` later
                assert first.queued_at - second.queued_at <= bound
        if waiting:
            chosen = choose_next(c, waiting, rules)
            if chosen is not None:
                assert_fair(chosen, waiting, c, bound)


@FAST
@given(hall_strategy())
def test_count_ahead_is_the_position_in_call_order(hall) -> None:
    rules, counters, waiting = hall
    for c in counters:
        order = call_order(c, waiting, rules)
        for position, me in enumerate(order):
            assert count_ahead(me, c, waiting, rules) == position


@FAST
@given(hall_strategy())
def test_queue_key_and_counter_order_make_the_call_key(hall) -> None:
    """The database orders and counts by the stored queue key plus the counter's offsets: exactly call_key."""
    rules, counters, waiting = hall
    for c in counters:
        order = counter_order(c, rules)
        for ticket in waiting:
            if not is_eligible(ticket, c):
                continue
            key, _ = call_key(ticket, c, rules)
            assert queue_key(ticket, rules) + order.offset(ticket.service_code, ticket.priority) == key
            assert queue_key_us(ticket, rules) == (queue_key(ticket, rules) - EPOCH) // timedelta(microseconds=1)


@dataclass
class Issue:
    after_seconds: int
    service: str
    priority: PriorityClass


@dataclass
class Call:
    counter_index: int


@dataclass
class Transfer:
    pick: int
    service: str | None
    to_counter_index: int | None


steps_strategy = st.lists(
    st.one_of(
        st.builds(
            Issue,
            st.integers(min_value=0, max_value=600),
            st.sampled_from(SERVICES),
            st.sampled_from(PriorityClass),
        ),
        st.builds(Call, st.integers(min_value=0, max_value=len(COUNTER_NAMES) - 1)),
        st.builds(
            Transfer,
            st.integers(min_value=0, max_value=1000),
            st.one_of(st.none(), st.sampled_from(SERVICES)),
            st.one_of(st.none(), st.integers(min_value=0, max_value=len(COUNTER_NAMES) - 1)),
        ),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules_strategy(), counters_strategy(), steps_strategy)
def test_simulated_hall_never_calls_a_ticket_twice_and_stays_fair(rules, counters, steps) -> None:
    """Issue tickets over time and let random counters call next; transfers happen now and then."""
    bound = bound_for(rules, counters)
    now = T0
    next_id = 1
    waiting: list[QueuedTicket] = []
    called: list[int] = []
    issued: set[int] = set()
    for step in steps:
        if isinstance(step, Issue):
            now += timedelta(seconds=step.after_seconds)
            waiting.append(QueuedTicket(next_id, step.service, step.priority, now))
            issued.add(next_id)
            next_id += 1
        elif isinstance(step, Transfer):
            if not waiting:
                continue
            old = waiting.pop(step.pick % len(waiting))
            target = None
            if step.to_counter_index is not None:
                target = counters[step.to_counter_index % len(counters)].counter
            # a transfer keeps the ticket's place (queued_at) and marks it transferred
            waiting.append(
                replace(old, service_code=step.service or old.service_code, target_counter=target, transferred=True)
            )
        else:
            c = counters[step.counter_index % len(counters)]
            chosen = choose_next(c, waiting, rules)
            if chosen is None:
                assert not any(is_eligible(t, c) for t in waiting)
                continue
            assert chosen in waiting
            assert is_eligible(chosen, c)
            assert chosen.ticket_id not in called, f"ticket {chosen.ticket_id} called twice"
            assert_fair(chosen, waiting, c, bound)
            waiting.remove(chosen)
            called.append(chosen.ticket_id)
    assert len(called) == len(set(called))
    assert set(called) | {t.ticket_id for t in waiting} == issued
    assert not set(called) & {t.ticket_id for t in waiting}


@pytest.mark.parametrize("services_per_counter", [1, 2, 3])
def test_bound_is_tight_when_the_largest_head_start_is_reachable(services_per_counter: int) -> None:
    """With VIP head start = the largest class head start, a ticket entering just under ``bound`` later can
    still be called first; at ``bound`` it no longer is."""
    rules = replace(RULES, head_start={**RULES.head_start, PriorityClass.VIP: timedelta(minutes=20)})
    services = tuple(f"S{i}" for i in range(services_per_counter))
    vip_room = CounterSkills("8", services, CounterRole.VIP)
    bound = rules.pass_over_bound(services_per_counter)
    assert bound == timedelta(minutes=20 + 30 + 30 + 10 * (services_per_counter - 1))
    a = ticket(1, services[-1], 0)  # last preference, no head start
    # B: first preference, VIP at the VIP room, transferred: every head start there is
    b = QueuedTicket(2, services[0], PriorityClass.VIP, a.queued_at + bound - timedelta(seconds=1), transferred=True)
    assert rules.ticket_head_start(b, vip_room) == rules.max_head_start()
    assert choose_next(vip_room, [a, b], rules) == b
    at_bound = replace(b, queued_at=a.queued_at + bound)
    assert choose_next(vip_room, [a, at_bound], rules) == a


@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=500)), max_size=8))
def test_people_ahead_are_the_fewest_at_an_open_counter_else_at_any(at_counters: list[tuple[bool, int]]) -> None:
    from server.domain.policy import people_ahead

    open_counts = [ahead for is_open, ahead in at_counters if is_open]
    expected = min(open_counts) if open_counts else min((ahead for _, ahead in at_counters), default=0)
    assert people_ahead(at_counters) == expected
    assert people_ahead([(False, 3), (True, 9)]) == 9  # an open counter's queue, even if a closed one is shorter


# --- held tickets (an appointment checked in before its slot) ------------------------------------------

held_queue = st.lists(st.tuples(st.sampled_from(["BILL", "PLAN"]), st.sampled_from(list(PriorityClass)),
                                st.integers(0, 120), st.one_of(st.none(), st.integers(0, 180))),
                      min_size=0, max_size=20)


@given(held_queue, st.integers(0, 200))
def test_call_next_never_returns_a_ticket_before_its_not_before(specs: list[tuple[str, PriorityClass, int, int | None]],
                                                               now_min: int) -> None:
    waiting = [QueuedTicket(i + 1, service, priority, at(minute), not_before=None if held is None else at(held))
               for i, (service, priority, minute, held) in enumerate(specs)]
    now = at(now_min)
    c = counter("1", "BILL", "PLAN")
    chosen = choose_next(c, waiting, RULES, now)
    callable_now = [t for t in waiting if t.not_before is None or t.not_before <= now]
    if chosen is None:
        assert not callable_now
    else:
        assert chosen.not_before is None or chosen.not_before <= now
        # among the callable ones, the order is the policy's usual one: holding a ticket moves nobody else
        assert chosen == choose_next(c, callable_now, RULES)


def test_a_held_appointment_is_called_first_once_its_slot_starts() -> None:
    c = counter("1", "PLAN")
    walk_in = ticket(1, "PLAN", 0)
    early = QueuedTicket(2, "PLAN", PriorityClass.APPOINTMENT, at(5), not_before=at(30))
    assert choose_next(c, [walk_in, early], RULES, at(10)) == walk_in
    assert choose_next(c, [early], RULES, at(29)) is None
    assert choose_next(c, [walk_in, early], RULES, at(30)) == early
    assert choose_next(c, [walk_in, early], RULES) == early  # no clock given: the hold is not looked at
