"""Held tickets (an appointment checked in before its slot: ``QueuedTicket.callable_from``) in the estimator and in
the people-ahead counts: the projection lets a held ticket in at its callable-from instant, and a held ticket is
ahead of another only if it may be called by the other's expected call."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import policy
from server.domain.estimation import (
    AbandonmentModel,
    BookedArrival,
    BranchModel,
    CounterState,
    CounterStatus,
    PauseModel,
    QueueSnapshot,
    ServiceTimeModel,
    WaitEstimate,
    estimate_waits,
)
from server.domain.foresight import arrival_ticket, booked_first
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket
from server.domain.tickets import PriorityClass
from server.services.live import _people_ahead, project_hall

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=TZ)
RULES = PolicyRules()
APPOINTMENT, NORMAL = PriorityClass.APPOINTMENT, PriorityClass.NORMAL


def minutes(value: timedelta) -> float:
    return value.total_seconds() / 60


def steady_model(services: dict[str, float]) -> BranchModel:
    """Services that take almost exactly their configured time; nobody walks out or pauses."""
    model = BranchModel({code: timedelta(minutes=m) for code, m in services.items()}, TZ)
    model.service_times = ServiceTimeModel(model.expected_service, prior_cv=0.02)
    model.abandonment = AbandonmentModel(prior_no_show=0.0)
    model.pauses = PauseModel(prior_probability=0.0)
    return model


def walk_in(ticket_id: int, waited: float, service: str = "A") -> QueuedTicket:
    return QueuedTicket(ticket_id, service, NORMAL, NOW - timedelta(minutes=waited))


def held(ticket_id: int, waited: float, callable_in: float, service: str = "A") -> QueuedTicket:
    """An appointment checked in ``waited`` minutes ago, held for ``callable_in`` more minutes."""
    return QueuedTicket(ticket_id, service, APPOINTMENT, NOW - timedelta(minutes=waited),
                        not_before=NOW + timedelta(minutes=callable_in))


def counter(number: str = "1", services: tuple[str, ...] = ("A",)) -> CounterState:
    return CounterState(CounterSkills(number, services), CounterStatus.OPEN)


# --- the estimator ---------------------------------------------------------------------------------------


def test_a_held_ticket_alone_is_called_at_its_slot_not_now() -> None:
    snapshot = QueueSnapshot(NOW, [counter()], [held(1, waited=5, callable_in=25)], booked=[])
    estimate = estimate_waits(snapshot, RULES, steady_model({"A": 5.0}))[1]
    assert estimate.known
    assert minutes(estimate.expected) == pytest.approx(25, abs=0.01)
    assert estimate.low >= timedelta(minutes=25)


def test_walk_ins_are_served_before_the_slot_and_the_held_ticket_first_from_it() -> None:
    """One counter, five-minute services: the walk-ins go at 0, 5 and 10; the slot opens at 12, so at 15 the
    appointment (the smaller key) goes before the fourth walk-in, who goes at 20."""
    waiting = [held(9, waited=10, callable_in=12), *(walk_in(i, waited=8 - i) for i in range(1, 5))]
    snapshot = QueueSnapshot(NOW, [counter()], waiting, booked=[])
    estimates = estimate_waits(snapshot, RULES, steady_model({"A": 5.0}))
    calls = {ticket_id: round(minutes(e.expected)) for ticket_id, e in estimates.items()}
    assert calls == {1: 0, 2: 5, 3: 10, 9: 15, 4: 20}


def test_a_held_ticket_past_every_counters_close_is_not_estimated() -> None:
    closing = CounterState(CounterSkills("1", ("A",)), CounterStatus.OPEN, closes_at=NOW + timedelta(minutes=20))
    snapshot = QueueSnapshot(NOW, [closing], [held(1, waited=1, callable_in=25), walk_in(2, waited=0)], booked=[])
    estimates = estimate_waits(snapshot, RULES, steady_model({"A": 5.0}))
    assert not estimates[1].known
    assert minutes(estimates[2].expected) == pytest.approx(0, abs=0.01)


def test_a_hold_already_over_changes_nothing() -> None:
    model = steady_model({"A": 5.0})
    over = [held(9, waited=10, callable_in=-1), walk_in(1, waited=5)]
    plain = [QueuedTicket(9, "A", APPOINTMENT, NOW - timedelta(minutes=10)), walk_in(1, waited=5)]
    assert (estimate_waits(QueueSnapshot(NOW, [counter()], over, booked=[]), RULES, model)
            == estimate_waits(QueueSnapshot(NOW, [counter()], plain, booked=[]), RULES, model))


queues = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]),
        st.sampled_from([NORMAL, PriorityClass.PRIORITY, APPOINTMENT]),
        st.floats(0, 60),  # waited
        st.one_of(st.none(), st.floats(-10, 90)),  # held for this many minutes more, if held
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(queues, st.integers(1, 3))
def test_a_held_tickets_estimate_is_never_shorter_than_the_time_to_its_slot(
        specs: list[tuple[str, PriorityClass, float, float | None]], counters: int) -> None:
    waiting = [QueuedTicket(i + 1, service, priority, NOW - timedelta(minutes=waited),
                            not_before=None if hold is None else NOW + timedelta(minutes=hold))
               for i, (service, priority, waited, hold) in enumerate(specs)]
    hall = [counter(str(n), ("A", "B") if n % 2 else ("B", "A")) for n in range(counters)]
    model = BranchModel({"A": timedelta(minutes=6), "B": timedelta(minutes=9)}, TZ)
    estimates = estimate_waits(QueueSnapshot(NOW, hall, waiting), RULES, model)
    for t in waiting:
        estimate = estimates[t.ticket_id]
        if estimate.known and t.not_before is not None:
            slot = t.not_before - NOW
            assert estimate.expected >= slot and estimate.low >= slot, (t, estimate)


@given(st.floats(0, 200), st.floats(0, 50), st.floats(0, 50), st.floats(-20, 200))
def test_at_least_lifts_every_part_to_the_hold_and_no_further(expected: float, below: float, above: float,
                                                              hold: float) -> None:
    estimate = WaitEstimate(timedelta(minutes=expected), timedelta(minutes=max(expected - below, 0)),
                            timedelta(minutes=expected + above))
    lifted = estimate.at_least(timedelta(minutes=hold))
    for before, after in zip((estimate.low, estimate.expected, estimate.high),
                             (lifted.low, lifted.expected, lifted.high), strict=True):
        assert after == max(before, timedelta(minutes=hold)) if hold > 0 else after == before
    assert WaitEstimate.unknown().at_least(timedelta(minutes=hold)) == WaitEstimate.unknown()


# --- who is ahead ----------------------------------------------------------------------------------------


SKILLS = CounterSkills("1", ("A",))


def test_a_held_ticket_is_ahead_only_of_those_whose_turn_comes_after_its_slot() -> None:
    appointment = held(9, waited=10, callable_in=25)
    me = walk_in(1, waited=2)
    assert policy.called_before(appointment, me, SKILLS, RULES)  # by call key alone (the slot unknown)
    assert not policy.called_before(appointment, me, SKILLS, RULES, NOW + timedelta(minutes=10))
    assert policy.called_before(appointment, me, SKILLS, RULES, NOW + timedelta(minutes=30))
    assert policy.held_behind(me, SKILLS, [appointment], RULES, NOW + timedelta(minutes=10)) == 1
    assert policy.held_behind(me, SKILLS, [appointment], RULES, NOW + timedelta(minutes=30)) == 0


def test_a_held_tickets_own_turn_never_comes_before_its_slot() -> None:
    """Two early appointments for the same slot: the one checked in first is ahead of the other, even when the
    other's estimate (made before the hold was known) says it would be called in two minutes."""
    first, second = held(8, waited=10, callable_in=25), held(9, waited=5, callable_in=25)
    soon = NOW + timedelta(minutes=2)
    assert policy.turn(second, soon) == second.not_before
    assert policy.count_ahead(second, SKILLS, [first, second], RULES, soon) == 1


def test_booked_customers_are_counted_by_the_same_rule() -> None:
    me = walk_in(1, waited=0)
    arrival = BookedArrival(NOW + timedelta(minutes=10), "A")
    probe = arrival_ticket(arrival)
    assert probe.callable_from == arrival.at
    for until in (NOW + timedelta(minutes=5), NOW + timedelta(minutes=15)):
        assert booked_first([arrival], me, SKILLS, RULES, until) == int(
            policy.called_before(probe, me, SKILLS, RULES, until))


def _reference(snapshot: QueueSnapshot, expected: dict[int, datetime]) -> dict[int, int]:
    """People ahead by the pure reference: :func:`policy.count_ahead` at each counter that counts."""
    open_numbers = {c.skills.counter for c in snapshot.counters if c.status is not CounterStatus.CLOSED}
    return {me.ticket_id: policy.people_ahead(
        (c.skills.counter in open_numbers,
         policy.count_ahead(me, c.skills, snapshot.waiting, RULES, expected.get(me.ticket_id)))
        for c in snapshot.counters if policy.is_eligible(me, c.skills)) for me in snapshot.waiting}


hall_queues = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(list(PriorityClass)),
        st.integers(0, 60),  # waited, whole minutes: ties happen
        st.one_of(st.none(), st.integers(-5, 60)),  # held for this many minutes more
        st.one_of(st.none(), st.integers(0, 90)),  # its expected call, minutes from now (None: not known)
        st.sampled_from([None, None, None, "2"]),  # sent to counter 2
    ),
    min_size=1, max_size=30, unique_by=lambda spec: spec,
)
HALL = [CounterState(CounterSkills("1", ("A", "B"))),
        CounterState(CounterSkills("2", ("B", "C"), policy.CounterRole.VIP)),
        CounterState(CounterSkills("3", ("C",)), CounterStatus.CLOSED)]


def _hall_snapshot(specs: list[tuple[str, PriorityClass, int, int | None, int | None, str | None]]
                   ) -> tuple[QueueSnapshot, dict[int, datetime]]:
    waiting = [QueuedTicket(i + 1, service, priority, NOW - timedelta(minutes=waited), target, target is not None,
                            None if hold is None else NOW + timedelta(minutes=hold))
               for i, (service, priority, waited, hold, _call, target) in enumerate(specs)]
    expected = {i + 1: NOW + timedelta(minutes=call) for i, (*_, call, _target) in enumerate(specs)
                if call is not None}
    return QueueSnapshot(NOW, HALL, waiting), expected


@settings(max_examples=80, deadline=None)
@given(hall_queues)
def test_the_live_count_is_the_pure_rule(specs: list[tuple[str, PriorityClass, int, int | None, int | None,
                                                           str | None]]) -> None:
    snapshot, expected = _hall_snapshot(specs)
    assert _people_ahead(snapshot, RULES, expected=expected) == _reference(snapshot, expected)


@settings(max_examples=80, deadline=None)
@given(hall_queues, st.data())
def test_removing_a_held_ticket_never_increases_anyone_elses_people_ahead(
        specs: list[tuple[str, PriorityClass, int, int | None, int | None, str | None]], data: st.DataObject) -> None:
    snapshot, expected = _hall_snapshot(specs)
    held_ones = [t for t in snapshot.waiting if not policy.is_callable(t, NOW)]
    if not held_ones:
        return
    gone = data.draw(st.sampled_from(held_ones))
    before = _people_ahead(snapshot, RULES, expected=expected)
    after = _people_ahead(QueueSnapshot(NOW, HALL, [t for t in snapshot.waiting if t is not gone]), RULES,
                          expected=expected)
    assert all(after[ticket_id] <= before[ticket_id] for ticket_id in after)


def test_a_walk_in_is_not_told_of_an_appointment_whose_slot_comes_after_its_turn() -> None:
    """Three ahead of a new walk-in by call key, one of them an appointment held for 25 minutes: the walk-in will
    be called in about 10 minutes, so it is told 2; the appointment itself is told its slot, not "now"."""
    waiting = [held(9, waited=3, callable_in=25), walk_in(1, waited=2), walk_in(2, waited=1)]
    snapshot = QueueSnapshot(NOW, [counter()], waiting, booked=[])
    projection = project_hall(snapshot, RULES, steady_model({"A": 5.0}), ["A"], booked=[])
    tile = projection.new[("A", NORMAL.value)]
    assert round(minutes(tile.estimate.expected)) == 10
    assert tile.ahead == 2
    assert projection.ahead[1] == 0 and projection.ahead[2] == 1
    assert round(minutes(projection.waits[9].expected)) == 25
    assert projection.waits[9].low >= timedelta(minutes=25)
