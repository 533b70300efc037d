"""The what-if replay of a closed day (server/domain/replay.py): deterministic, conserving, the policy's order,
changes applied as asked, and faithful to a simulated day it did not make."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.sim.replay_day import simulated_day
from server.domain import replay
from server.domain.errors import DomainError
from server.domain.policy import CounterRole, CounterSkills, PolicyRules, QueuedTicket, call_order
from server.domain.replay import AddCounter, AddService, CloseCounter, CounterEvent, Day, DayTicket, Ending, Shift
from server.domain.tickets import EventKind, PriorityClass

ORIGIN = datetime(2026, 11, 24, tzinfo=ZoneInfo("Asia/Shanghai"))
RULES = PolicyRules()
SERVICES = ("BILL", "PLAN", "SIM")


def day_of(tickets: list[DayTicket], shifts: list[Shift]) -> Day:
    return Day(ORIGIN, tuple(tickets), tuple(shifts), dict.fromkeys(SERVICES, 10.0), dict.fromkeys(SERVICES, 5.0))


@pytest.fixture(scope="module")
def busy() -> Day:
    return simulated_day(seed=7)[0]


# --- random small days -------------------------------------------------------------------------------------------

@st.composite
def tickets(draw: st.DrawFn) -> list[DayTicket]:
    count = draw(st.integers(0, 40))
    made = []
    for ticket_id in range(1, count + 1):
        issued = draw(st.floats(540, 1000, allow_nan=False))
        ending = draw(st.sampled_from(list(Ending)))
        called = issued + draw(st.floats(0, 60)) if ending in (Ending.SERVED, Ending.NO_SHOW) else None
        made.append(DayTicket(
            ticket_id, draw(st.sampled_from(SERVICES)), draw(st.sampled_from(list(PriorityClass))), issued, ending,
            called=called, service_min=draw(st.floats(0.5, 20)) if ending is Ending.SERVED else None,
            left=issued + draw(st.floats(0, 60)) if ending is Ending.CANCELLED else None,
            no_show_call_min=draw(st.floats(0.1, 2)) if ending is Ending.NO_SHOW else None))
    return made


@st.composite
def shifts(draw: st.DrawFn) -> list[Shift]:
    made = []
    for number in range(1, draw(st.integers(0, 4)) + 1):
        start = draw(st.floats(500, 1000))
        services = tuple(draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True)))
        made.append(Shift(str(number), start, start + draw(st.floats(1, 400)), services,
                          draw(st.sampled_from(list(CounterRole)))))
    return made


changes = st.lists(st.one_of(
    st.builds(lambda s, d, sv: AddCounter(s, s + d, tuple(sv)), st.floats(500, 1000), st.floats(1, 300),
              st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True)),
    st.builds(lambda c, sv, s, d: AddService(c, sv, s, s + d), st.sampled_from("1234"), st.sampled_from(SERVICES),
              st.floats(500, 1000), st.floats(1, 300)),
    st.builds(lambda c, s, d: CloseCounter(c, s, s + d), st.sampled_from("1234"), st.floats(500, 1000),
              st.floats(1, 300))), max_size=3)


@settings(max_examples=150, deadline=None)
@given(tickets(), shifts(), changes, st.integers(0, 2**31 - 1))
def test_every_arrival_ends_exactly_one_way_and_the_same_seed_gives_the_same_day(
        made: list[DayTicket], planned: list[Shift], asked: list[replay.Change], seed: int) -> None:
    day = day_of(made, planned)
    changed = replay.apply_changes(day.shifts, asked)
    outcomes = replay.replay(day, changed, RULES, seed)
    assert outcomes == replay.replay(day, changed, RULES, seed)
    assert [o.ticket_id for o in outcomes] == [t.ticket_id for t in made]
    for outcome, ticket in zip(outcomes, made, strict=True):
        assert outcome.issued == ticket.issued
        # called exactly when served or found gone; never before issue; only inside one of the counters' shifts
        assert (outcome.called is not None) == (outcome.ending in (Ending.SERVED, Ending.NO_SHOW))
        if outcome.called is not None:
            assert outcome.called >= ticket.issued
            assert any(s.start <= outcome.called < s.end and ticket.service in s.services for s in changed)
        if outcome.ending is Ending.CANCELLED:
            assert ticket.ending is Ending.CANCELLED  # only those who cancelled that day cancel in a replay
    figures = replay.figures(day, outcomes)["totals"]
    assert figures["issued"] == figures["served"] + figures["walk_outs"] + figures["left_over"] == len(made)


@settings(max_examples=150, deadline=None)
@given(tickets(), st.sampled_from(list(CounterRole)),
       st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3, unique=True))
def test_a_counter_calls_what_was_waiting_in_the_policys_order(
        made: list[DayTicket], role: CounterRole, services: list[str]) -> None:
    """Everyone waits (nobody walks out) until one counter opens after the last arrival: it calls them in the
    order of :func:`policy.call_order`."""
    stay = [DayTicket(t.ticket_id, t.service, t.priority, t.issued, Ending.SERVED, service_min=1.0) for t in made]
    counter = Shift("1", 1100, 100_000, tuple(services), role)
    outcomes = replay.replay(day_of(stay, [counter]), [counter], RULES)
    called = [o.ticket_id for o in sorted(outcomes, key=lambda o: (math.inf if o.called is None else o.called))
              if o.called is not None]
    queued = [QueuedTicket(t.ticket_id, t.service, t.priority, ORIGIN + timedelta(minutes=t.issued))
              for t in stay]
    assert called == [t.ticket_id for t in call_order(CounterSkills("1", tuple(services), role), queued, RULES)]



# --- the busy day -------------------------------------------------------------------------------------------------

def test_a_busy_day_replays_without_change_close_to_what_happened(busy: Day) -> None:
    assert len(busy.tickets) > 1_300
    actual = replay.figures(busy, replay.actual(busy))["totals"]
    again = replay.figures(busy, replay.replay(busy, busy.shifts, RULES))["totals"]
    assert again["wait_mean_min"] == pytest.approx(actual["wait_mean_min"], rel=0.15)
    assert again["service_level"] == pytest.approx(actual["service_level"], abs=0.05)
    assert again["walk_outs"] == pytest.approx(actual["walk_outs"], rel=0.25)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_more_counter_at_midday_never_makes_the_mean_wait_worse_beyond_noise(busy: Day, seed: int) -> None:
    before = replay.figures(busy, replay.replay(busy, busy.shifts, RULES, seed))
    more = replay.apply_changes(busy.shifts, [AddCounter(11 * 60, 14 * 60, ("bill", "sim", "device"))])
    after = replay.figures(busy, replay.replay(busy, more, RULES, seed))
    # noise: customers who would have walked out are served instead, and the policy is not monotone call by call
    assert after["totals"]["wait_mean_min"] <= before["totals"]["wait_mean_min"] * 1.03 + 0.05
    midday = {h["hour"]: h for h in after["hours"]}
    was = {h["hour"]: h for h in before["hours"]}
    assert sum(midday[h]["wait_mean_min"] for h in (11, 12, 13)) <= sum(was[h]["wait_mean_min"] for h in (11, 12, 13))
    fewer = replay.apply_changes(busy.shifts, [CloseCounter(s.counter, 10 * 60, 12 * 60) for s in busy.shifts[:4]])
    worse = replay.figures(busy, replay.replay(busy, fewer, RULES, seed))
    assert worse["totals"]["wait_mean_min"] > before["totals"]["wait_mean_min"]


# --- shifts and changes ----------------------------------------------------------------------------------------

def test_the_counters_events_make_shifts_split_by_pauses_and_changes_of_services() -> None:
    signed_in, paused, resumed, out = (EventKind.COUNTER_SIGNED_IN, EventKind.COUNTER_PAUSED,
                                       EventKind.COUNTER_RESUMED, EventKind.COUNTER_SIGNED_OUT)
    events = [CounterEvent(540, "1", signed_in, ("BILL",)), CounterEvent(600, "1", paused),
              CounterEvent(615, "1", resumed), CounterEvent(700, "1", signed_in, ("BILL", "PLAN")),
              CounterEvent(800, "1", out), CounterEvent(560, "2", signed_in, None), CounterEvent(900, "3", resumed)]
    made = replay.shifts_from_events(events, 1080, {"2": ("SIM",)}, {"2": CounterRole.VIP})
    assert made == [Shift("1", 540, 600, ("BILL",)), Shift("2", 560, 1080, ("SIM",), CounterRole.VIP),
                    Shift("1", 615, 700, ("BILL",)), Shift("1", 700, 800, ("BILL", "PLAN"))]


def test_changes_add_a_counter_add_a_service_for_a_while_and_close_a_counter() -> None:
    day = [Shift("1", 540, 1080, ("BILL",)), Shift("2", 540, 1080, ("PLAN",))]
    made = replay.apply_changes(day, [AddCounter(660, 840, ("BILL", "SIM")), AddService("1", "SIM", 600, 720),
                                      CloseCounter("2", 720, 780), AddCounter(700, 760, ("PLAN",))])
    assert made == [Shift("1", 540, 600, ("BILL",)), Shift("2", 540, 720, ("PLAN",)),
                    Shift("1", 600, 720, ("BILL", "SIM")), Shift("+1", 660, 840, ("BILL", "SIM")),
                    Shift("+2", 700, 760, ("PLAN",)), Shift("1", 720, 1080, ("BILL",)),
                    Shift("2", 780, 1080, ("PLAN",))]


@pytest.mark.parametrize(("change", "field"), [
    (AddCounter(700, 660, ("BILL",)), "changes[0].start"),
    (AddCounter(660, 1500, ("BILL",)), "changes[0].start"),
    (AddCounter(660, 700, ("NOPE",)), "changes[0].services"),
    (AddCounter(660, 700, ()), "changes[0].services"),
    (AddService("9", "BILL", 600, 700), "changes[0].counter"),
    (AddService("1", "NOPE", 600, 700), "changes[0].service"),
    (CloseCounter("9", 600, 700), "changes[0].counter"),
])
def test_a_change_that_cannot_apply_is_refused_naming_its_field(change: replay.Change, field: str) -> None:
    with pytest.raises(DomainError) as refused:
        replay.check_changes([change], SERVICES, ["1", "2"])
    assert refused.value.http_status == 400 and refused.value.details["parameter"] == field


def test_too_many_changes_are_refused() -> None:
    with pytest.raises(DomainError) as refused:
        replay.check_changes([CloseCounter("1", 600, 700)] * (replay.MAX_CHANGES + 1), SERVICES, ["1"])
    assert refused.value.code == "too_many_changes"


def test_patience_comes_from_what_happened() -> None:
    assert DayTicket(1, "BILL", PriorityClass.NORMAL, 600, Ending.CANCELLED, left=612).patience == 12
    assert DayTicket(1, "BILL", PriorityClass.NORMAL, 600, Ending.NO_SHOW, called=620).patience == 10
    assert DayTicket(1, "BILL", PriorityClass.NORMAL, 600, Ending.SERVED, called=620).patience == math.inf
