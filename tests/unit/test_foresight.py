"""What the live projection knows of the future: rostered counter changes and booked arrivals (server.domain.foresight,
and the projection's use of them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import estimation
from server.domain.estimation import (
    BookedArrival,
    BranchModel,
    CounterState,
    CounterStatus,
    DurationTable,
    QueueSnapshot,
)
from server.domain.foresight import (
    LATE_ARRIVAL,
    BookedSlot,
    booked_arrivals,
    booked_first,
    foreseen,
    rostered_counters,
)
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket
from server.domain.roster import CounterChange, CounterChangeKind
from server.domain.tickets import PriorityClass
from server.services.live import project_hall

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
OPEN, CLOSE = CounterChangeKind.OPEN, CounterChangeKind.CLOSE


def _at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def _change(minutes: float, counter: str, kind: CounterChangeKind, services: tuple[str, ...] = ("A",)) -> CounterChange:
    return CounterChange(_at(minutes), counter, kind, services)


def _steady(services: dict[str, float]) -> BranchModel:
    """A branch whose every customer takes exactly the service's time, comes, never cancels nor pauses a counter:
    the projection is then deterministic, and what the properties say must hold in every replication."""
    model = BranchModel({code: timedelta(minutes=m) for code, m in services.items()}, UTC)
    tables = {code: DurationTable([m] * 24, [1.0]) for code, m in services.items()}
    model.service_times.sampling_table = lambda code: tables.get(code, DurationTable([5.0] * 24, [1.0]))  # type: ignore[method-assign]
    model.abandonment.no_show_curve = lambda: [0.0] * 10  # type: ignore[method-assign]
    model.abandonment.cancel_hazards = lambda: [0.0] * 10  # type: ignore[method-assign]
    model.abandonment.cumulative_cancel_hazard = lambda: [0.0] * 10  # type: ignore[method-assign]
    model.pauses.probability = lambda: 0.0  # type: ignore[method-assign]
    return model


# --- the roster's counter changes -------------------------------------------------------------------------------


def test_an_open_counter_closes_when_rostered_and_a_gap_in_its_shifts_is_a_break() -> None:
    counters = [CounterState(CounterSkills("1", ("A",)))]
    seen = rostered_counters(counters, [_change(10, "1", CLOSE), _change(30, "1", OPEN), _change(120, "1", CLOSE)],
                             NOW)
    assert seen[0].opens_at is None
    assert seen[0].closes_at == _at(120)
    assert seen[0].breaks == ((_at(10), _at(30)),)


def test_a_closed_counter_opens_when_rostered_with_its_rostered_services() -> None:
    counters = [CounterState(CounterSkills("2", ("A", "B")), CounterStatus.CLOSED)]
    seen = rostered_counters(counters, [_change(20, "2", OPEN, ("B",)), _change(80, "2", CLOSE, ("B",))], NOW)
    assert seen[0].opens_at == _at(20) and seen[0].closes_at == _at(80)
    assert seen[0].skills.services == ("B",) and seen[0].status is CounterStatus.CLOSED


def test_counters_the_roster_does_not_change_stay_as_they_are() -> None:
    open_off_roster = CounterState(CounterSkills("1", ("A",)))
    late = CounterState(CounterSkills("2", ("A",)), CounterStatus.CLOSED)  # rostered since 9:00, not signed in
    seen = rostered_counters([open_off_roster, late], [_change(60, "2", CLOSE)], NOW)
    assert seen == [open_off_roster, late]


def test_a_handover_to_the_same_counter_is_no_break() -> None:
    counters = [CounterState(CounterSkills("1", ("A",)))]
    seen = rostered_counters(counters, [_change(30, "1", CLOSE), _change(30, "1", OPEN, ("B",)),
                                        _change(90, "1", CLOSE, ("B",))], NOW)
    assert seen[0].closes_at == _at(90) and seen[0].breaks == ()


def test_with_a_roster_the_usual_hours_are_not_used() -> None:
    model = BranchModel({"A": timedelta(minutes=5)}, UTC)
    day0 = NOW - timedelta(days=3, hours=1)
    for day in range(3):  # usually signed in 9:00-10:30
        model.observe_counter("1", True, day0 + timedelta(days=day))
        model.observe_counter("1", False, day0 + timedelta(days=day, hours=1.5))
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], [])
    assert foreseen(snapshot, model, None, None).counters[0].closes_at == _at(30)
    assert foreseen(snapshot, model, [], None).counters[0].closes_at is None
    assert foreseen(snapshot, model, [_change(60, "1", CLOSE)], []).counters[0].closes_at == _at(60)
    assert foreseen(snapshot, model, [], []).booked == []


spans = st.lists(st.tuples(st.integers(1, 16), st.integers(1, 16)), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(spans, st.booleans(), st.integers(1, 25), st.integers(1, 3))
def test_a_rostered_counter_calls_nobody_while_it_is_closed_or_on_a_break(
        gaps_and_lengths: list[tuple[int, int]], open_now: bool, waiting: int, extra: int) -> None:
    """Quarter-hours of closed then open time from now (open first when signed in): every call the projection
    makes at the only counter falls within its rostered spans, and the first call after a break is at its end."""
    changes, clock, calling = [], 0, open_now
    windows: list[tuple[float, float]] = []
    start = 0.0 if open_now else None
    for closed_q, open_q in gaps_and_lengths:
        if calling:
            clock += open_q * 15
            changes.append(_change(clock, "1", CLOSE))
            windows.append((start or 0.0, clock))
            calling = False
        clock += closed_q * 15
        changes.append(_change(clock, "1", OPEN))
        start, calling = clock, True
    clock += 60
    changes.append(_change(clock, "1", CLOSE))
    windows.append((start or 0.0, clock))
    model = _steady({"A": 4.0, "B": 6.0})
    counter = CounterState(CounterSkills("1", ("A",)), CounterStatus.OPEN if open_now else CounterStatus.CLOSED)
    other = CounterState(CounterSkills("2", ("B",)))  # serves other tickets; never the counter's
    tickets = [QueuedTicket(i + 1, "A" if i % (extra + 1) else "B", PriorityClass.NORMAL, _at(-30 + i))
               for i in range(waiting)]
    snapshot = foreseen(QueueSnapshot(NOW, [counter, other], tickets), model, changes, [])
    projection = estimation._Projection(snapshot, tickets, PolicyRules(), model)
    for ticket, calls in zip(tickets, projection.run(8, 1), strict=True):
        if ticket.service_code != "A":
            continue
        for t in calls:
            assert any(begin - 1e-9 <= t < end for begin, end in windows), (t, windows)


# --- booked arrivals --------------------------------------------------------------------------------------------


def test_booked_slots_become_arrivals_at_their_start_and_late_ones_now() -> None:
    slots = [BookedSlot("A", _at(10), 2), BookedSlot("B", _at(-5), 1), BookedSlot("A", NOW - LATE_ARRIVAL
                                                                                  - timedelta(minutes=1), 1)]
    assert booked_arrivals(slots, NOW) == [BookedArrival(NOW, "B"), BookedArrival(_at(10), "A"),
                                           BookedArrival(_at(10), "A")]


def test_a_booked_customer_is_ahead_of_a_walk_in_only_if_called_first_and_arriving_in_time() -> None:
    rules = PolicyRules()  # the appointment class has a 20-minute head start
    counter = CounterSkills("1", ("A",))
    me = QueuedTicket(-1, "A", PriorityClass.NORMAL, NOW)
    booked = [BookedArrival(_at(10), "A"), BookedArrival(_at(30), "A"), BookedArrival(_at(10), "B")]
    assert booked_first(booked, me, counter, rules, _at(60)) == 1  # the 10:30 one's key (10:10) is after mine
    assert booked_first(booked, me, counter, rules, _at(5)) == 0  # called before anyone booked comes
    assert booked_first(booked, me, CounterSkills("2", ("B",)), rules, _at(60)) == 0  # cannot call me


queue = st.lists(st.integers(0, 30), min_size=0, max_size=12)


@settings(max_examples=80, deadline=None)
@given(queue, st.lists(st.integers(0, 120), max_size=5), st.integers(0, 120), st.integers(1, 3),
       st.sampled_from([PriorityClass.NORMAL, PriorityClass.PRIORITY]))
def test_a_booked_arrival_never_shortens_a_walk_ins_estimate(waited: list[int], booked: list[int], extra: int,
                                                           counters: int, lane: PriorityClass) -> None:
    model = _steady({"A": 6.0})
    tickets = [QueuedTicket(i + 1, "A", PriorityClass.NORMAL, _at(-m)) for i, m in enumerate(waited)]
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills(str(n), ("A",))) for n in range(counters)], tickets)
    before = [BookedArrival(_at(m), "A") for m in booked]
    after = [*before, BookedArrival(_at(extra), "A")]
    rules = PolicyRules()
    walk_in = project_hall(snapshot, rules, model, ["A"], booked=before).new[("A", lane.value)]
    later = project_hall(snapshot, rules, model, ["A"], booked=after).new[("A", lane.value)]
    assert walk_in.estimate.known and later.estimate.known
    assert later.estimate.expected >= walk_in.estimate.expected
    assert later.ahead + later.booked >= walk_in.ahead + walk_in.booked


def test_a_booked_slot_soon_lengthens_a_walk_ins_wait_and_counts_among_those_ahead() -> None:
    model = BranchModel({"A": timedelta(minutes=6)}, UTC)
    tickets = [QueuedTicket(i + 1, "A", PriorityClass.NORMAL, _at(-10 + i)) for i in range(4)]
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], tickets)
    rules = PolicyRules()
    free = project_hall(snapshot, rules, model, ["A"], booked=[]).new[("A", "normal")]
    booked = project_hall(snapshot, rules, model, ["A"], booked=[BookedArrival(_at(10), "A")]).new[("A", "normal")]
    assert booked.estimate.expected > free.estimate.expected + timedelta(minutes=3)
    assert (free.ahead, free.booked) == (4, 0)
    assert (booked.ahead, booked.booked) == (4, 1)  # the issue compares its count with ``ahead``


def test_known_bookings_replace_the_learnt_appointment_arrivals() -> None:
    """Appointment tickets come only from bookings: once they are known, the projection draws no others."""
    model = BranchModel({"A": timedelta(minutes=6)}, UTC)
    for minute in range(0, 7 * 24 * 60, 10):  # a week of an appointment every ten minutes
        model.observe_issued("A", PriorityClass.APPOINTMENT, NOW - timedelta(days=7, minutes=-minute))
    tickets = [QueuedTicket(i + 1, "A", PriorityClass.NORMAL, _at(-10 + i)) for i in range(6)]
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], tickets)
    drawn = estimation.estimate_waits(snapshot, PolicyRules(), model)[6]
    known = estimation.estimate_waits(foreseen(snapshot, model, [], []), PolicyRules(), model)[6]
    assert known.expected < drawn.expected


def test_a_counter_rostered_to_close_soon_lengthens_the_waits_it_cannot_serve_in_time() -> None:
    model = BranchModel({"A": timedelta(minutes=5)}, UTC)
    tickets = [QueuedTicket(i + 1, "A", PriorityClass.NORMAL, _at(-10 + i)) for i in range(3)]
    counters = [CounterState(CounterSkills("1", ("A",))), CounterState(CounterSkills("2", ("A",)))]
    snapshot = QueueSnapshot(NOW, counters, tickets)
    rules = PolicyRules()
    staying = project_hall(snapshot, rules, model, ["A"], roster=[]).waits
    closing = project_hall(snapshot, rules, model, ["A"], roster=[_change(5, "2", CLOSE)]).waits
    assert closing[3].expected > staying[3].expected
