"""The live side's estimator path as pure functions, and the benchmark's live view that drives it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import benchmarks.wait_accuracy as bench
from benchmarks.sim import SCENARIOS, HallDay
from benchmarks.sim.hall import HALL_TIMEZONE
from server.domain import estimation
from server.domain.estimation import BranchModel, CounterState, CounterStatus, QueueSnapshot, WaitEstimate
from server.domain.policy import CounterSkills, PolicyRules, QueuedTicket
from server.domain.tickets import EventKind, PriorityClass
from server.services import live
from server.services.live import NewTicket, given_estimate, new_ticket_key, project_hall
from server.services.live_loop import COALESCE_S, IDLE_S, URGENT_S

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def _hall() -> tuple[QueueSnapshot, BranchModel]:
    model = BranchModel({"A": timedelta(minutes=5), "B": timedelta(minutes=8)}, UTC)
    counters = [CounterState(CounterSkills("1", ("A",))), CounterState(CounterSkills("2", ("A", "B")),
                                                                       serving_service="B",
                                                                       serving_since=NOW - timedelta(minutes=3))]
    waiting = [QueuedTicket(i + 1, "AB"[i % 2], PriorityClass.NORMAL, NOW - timedelta(minutes=10 - i))
               for i in range(6)]
    return QueueSnapshot(NOW, counters, waiting), model


def test_project_hall_is_the_estimator_plus_a_new_ticket_per_service_and_lane() -> None:
    snapshot, model = _hall()
    projection = project_hall(snapshot, PolicyRules(), model, ["A", "B"])
    kinds = [(s, p) for s in "AB" for p in live.NEW_TICKET_CLASSES]
    assert projection.waits == estimation.estimate_waits(snapshot, PolicyRules(), model, kinds)
    assert set(projection.new) == {(s, p.value) for s in "AB" for p in live.NEW_TICKET_CLASSES}
    normal = projection.new[("A", "normal")]
    assert normal.estimate == estimation.estimate_new_ticket(snapshot, "A", PriorityClass.NORMAL, PolicyRules(), model)
    assert normal.ahead == 3  # the three A tickets; B's go to counter 2 only after its A
    assert normal.per_person is not None and normal.per_person > timedelta(0)
    assert {t.ticket_id for t in snapshot.waiting} <= set(projection.ahead)


def test_a_vip_ticket_is_promised_the_normal_lanes_estimate() -> None:
    assert new_ticket_key("A", PriorityClass.VIP) == ("A", "normal")
    assert new_ticket_key("A", PriorityClass.PRIORITY) == ("A", "priority")


def test_new_ticket_given_lengthens_for_people_issued_since_the_refresh() -> None:
    estimate = WaitEstimate(timedelta(minutes=10), timedelta(minutes=6), timedelta(minutes=15))
    new = NewTicket(estimate, ahead=4, per_person=timedelta(minutes=2))
    assert new.given(None) == estimate and new.given(4) == estimate and new.given(2) == estimate
    assert new.given(6).expected == timedelta(minutes=14) and new.given(6).high == timedelta(minutes=19)


@settings(max_examples=200)
@given(st.floats(0, 300), st.floats(0, 100), st.floats(0, 200))
def test_the_stored_estimate_is_the_given_one_to_a_tenth_of_a_minute(expected: float, below: float,
                                                                     above: float) -> None:
    estimate = WaitEstimate(timedelta(minutes=expected), timedelta(minutes=max(expected - below, 0)),
                            timedelta(minutes=expected + above))
    stored = given_estimate({"estimate": estimate.as_dict()})
    assert stored is not None
    for a, b in ((stored.expected, estimate.expected), (stored.low, estimate.low), (stored.high, estimate.high)):
        assert abs((a - b).total_seconds()) <= 3.0 + 1e-6
    assert given_estimate({"estimate": WaitEstimate.unknown().as_dict()}) is None
    assert given_estimate(None) is None and given_estimate({}) is None


def test_the_live_side_sees_no_roster() -> None:
    snapshot, _model = _hall()
    rostered = replace(snapshot, counters=[replace(c, closes_at=NOW + timedelta(hours=1)) for c in snapshot.counters]
                       + [CounterState(CounterSkills("3", ("B",)), CounterStatus.CLOSED, opens_at=NOW)])
    seen = bench.live_side_view(rostered)
    assert all(c.opens_at is None and c.closes_at is None for c in seen.counters)
    assert [c.status for c in seen.counters] == [c.status for c in rostered.counters]


def _live_day(seed: int = 4) -> tuple[bench.LiveRecorder, BranchModel, list[tuple[float, bool]], list[float]]:
    short_day = replace(SCENARIOS["multi_telecom"], arrivals_per_hour=(70.0,))  # one busy hour
    model = BranchModel(short_day.expected_service(), HALL_TIMEZONE)
    events: list[tuple[float, bool]] = []
    refreshes: list[float] = []

    class Spy(bench.LiveRecorder):
        def on_event(self, hall: HallDay, kind: EventKind) -> None:
            events.append((hall.env.now, kind.value in live.URGENT_KINDS))
            super().on_event(hall, kind)

        def _refresh(self, hall: HallDay) -> None:
            refreshes.append(hall.env.now)
            super()._refresh(hall)

    recorder = Spy(model, PolicyRules(), [s.code for s in short_day.services])
    HallDay(short_day, 0, np.random.SeedSequence([seed]), model, observer=recorder).run()
    recorder.new_day()
    return recorder, model, events, refreshes


def test_the_live_view_runs_on_a_short_day_and_calibrates_as_the_server_does() -> None:
    recorder, model, _events, refreshes = _live_day()
    data = recorder.arrays()
    issued = data["at_issue"] == 1
    assert issued.sum() > 30 and (~issued).sum() > issued.sum()  # at issue and every minute
    assert np.all(data["target"] >= -1e-9)
    assert recorder.refreshes == len(refreshes) > 30
    # new tickets' width learns from the estimate given at issue, once per ticket called; waiting tickets' width
    # from what their pages showed, at most once a minute each
    assert model.issue_calibration.observed == int(np.sum(issued & ~np.isnan(data["expected"])))
    assert 0 < model.calibration.observed <= int(np.sum(~issued)) + len(refreshes)


def test_the_live_view_refreshes_at_the_servers_cadence() -> None:
    _recorder, _model, events, refreshes = _live_day(seed=5)
    gaps = np.diff(refreshes)
    assert gaps.min() >= URGENT_S / 60 - 1e-9  # never two refreshes within the urgent delay
    assert gaps.max() <= IDLE_S / 60 + 1e-9  # at least once a minute
    for at, urgent in events:  # every change is seen by a refresh soon after it
        later = [r for r in refreshes if r > at]
        assert later and later[0] - at <= COALESCE_S / 60 + 1e-9, (at, urgent)


# --- counters' usual hours (the live side has no roster) -------------------------------------------------------

DAY0 = datetime(2025, 3, 3, tzinfo=UTC)


def _staffed(days: int, spans: list[tuple[float, float]], counter: str = "1") -> BranchModel:
    """A branch whose counter was signed in for the same spans (hours of day) on ``days`` days."""
    model = BranchModel({"A": timedelta(minutes=5)}, UTC)
    for day in range(days):
        for start, end in spans:
            model.observe_counter(counter, True, DAY0 + timedelta(days=day, hours=start))
            model.observe_counter(counter, False, DAY0 + timedelta(days=day, hours=end))
    return model


def test_a_counter_is_expected_to_close_and_open_when_it_usually_does() -> None:
    model = _staffed(3, [(9, 11.25), (14, 17)])
    today = DAY0 + timedelta(days=3)
    presence = model.presence
    assert presence.next_change("1", True, today + timedelta(hours=10)) == today + timedelta(hours=11.25)
    assert presence.next_change("1", False, today + timedelta(hours=12)) == today + timedelta(hours=14)
    assert presence.next_change("1", False, today + timedelta(hours=8)) == today + timedelta(hours=9)
    assert presence.next_change("1", True, today + timedelta(hours=15)) == today + timedelta(hours=17)
    assert presence.next_change("1", False, today + timedelta(hours=18)) is None  # nothing more today
    # today differs from the usual: late, or staying on; no change is promised
    assert presence.next_change("1", False, today + timedelta(hours=10)) is None
    assert presence.next_change("1", True, today + timedelta(hours=12)) is None
    assert presence.next_change("2", False, today + timedelta(hours=10)) is None  # never staffed
    assert presence.share("1", today + timedelta(hours=11, minutes=20)) == 0.0


def test_too_short_a_history_promises_nothing() -> None:
    model = _staffed(2, [(9, 12)])
    assert model.presence.next_change("1", True, DAY0 + timedelta(days=2, hours=10)) is None
    assert model.presence.share("1", DAY0 + timedelta(days=2, hours=10)) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 80), st.integers(1, 80), st.integers(3, 6), st.integers(0, 95))
def test_the_usual_hours_are_the_majority_of_past_days(start_bin: int, length: int, days: int, at_bin: int) -> None:
    """A counter staffed over the same whole quarter-hours every day: it is expected to change exactly at their
    edges, and never while today agrees with the history and no edge lies ahead."""
    end_bin = min(start_bin + length, 95)
    model = _staffed(days, [(start_bin / 4, end_bin / 4)])
    today = DAY0 + timedelta(days=days)
    now = today + timedelta(minutes=15 * at_bin + 7)
    signed_in = start_bin <= at_bin < end_bin
    change = model.presence.next_change("1", signed_in, now)
    expected = (end_bin if signed_in else start_bin if at_bin < start_bin else None)
    assert change == (None if expected is None else today + timedelta(minutes=15 * expected))
    assert model.presence.next_change("1", not signed_in, now) is None  # today differs from the usual


def test_with_usual_hours_fills_in_only_what_the_caller_did_not_give() -> None:
    model = _staffed(3, [(9, 12)])
    now = DAY0 + timedelta(days=3, hours=10)
    given_close = now + timedelta(minutes=5)
    snapshot = QueueSnapshot(now, [CounterState(CounterSkills("1", ("A",))),
                                   CounterState(CounterSkills("1", ("A",)), closes_at=given_close)], [])
    seen = estimation.with_usual_hours(snapshot, model)
    assert seen.counters[0].closes_at == DAY0 + timedelta(days=3, hours=12)
    assert seen.counters[1].closes_at == given_close


def test_the_live_refresh_projects_with_the_usual_hours() -> None:
    """A queue that one counter, usually closing in 30 minutes, cannot clear before then waits longer."""
    model = _staffed(3, [(9, 10.5)])
    model_without = BranchModel({"A": timedelta(minutes=5)}, UTC)
    now = DAY0 + timedelta(days=3, hours=10)
    waiting = [QueuedTicket(i + 1, "A", PriorityClass.NORMAL, now - timedelta(minutes=20 - i)) for i in range(12)]
    snapshot = QueueSnapshot(now, [CounterState(CounterSkills("1", ("A",)))], waiting)
    closing = project_hall(snapshot, PolicyRules(), model, ["A"]).waits
    staying = project_hall(snapshot, PolicyRules(), model_without, ["A"]).waits
    assert staying[12].known and staying[12].expected < timedelta(minutes=70)
    assert not closing[12].known or closing[12].expected > staying[12].expected


# --- two interval widths: the estimate given at issue, and waiting tickets' ----------------------------------------


def test_new_tickets_and_waiting_tickets_have_their_own_interval_width() -> None:
    snapshot, model = _hall()
    before = estimation.estimate_waits(snapshot, PolicyRules(), model, [("A", PriorityClass.NORMAL)])
    far = timedelta(minutes=90)
    for _ in range(200):  # issue estimates far too narrow: only new tickets' ranges widen
        model.observe_estimate(before[-1], far, at_issue=True)
    after = estimation.estimate_waits(snapshot, PolicyRules(), model, [("A", PriorityClass.NORMAL)])
    assert after[-1].high - after[-1].low > before[-1].high - before[-1].low
    assert all(after[t.ticket_id] == before[t.ticket_id] for t in snapshot.waiting)
    for _ in range(200):  # and the other way round
        model.observe_estimate(before[6], far)
    again = estimation.estimate_waits(snapshot, PolicyRules(), model, [("A", PriorityClass.NORMAL)])
    assert again[-1] == after[-1]
    assert again[6].high - again[6].low > after[6].high - after[6].low


@settings(max_examples=100)
@given(st.lists(st.floats(0.01, 3.0), min_size=1, max_size=60))
def test_a_page_estimate_is_kept_once_a_minute_until_the_call(gaps: list[float]) -> None:
    shown = live.ShownEstimates()
    estimate = WaitEstimate(timedelta(minutes=10), timedelta(minutes=5), timedelta(minutes=15))
    at = NOW
    refreshes = []
    for gap in gaps:
        at += timedelta(minutes=gap)
        refreshes.append(at)
        shown.note(at, {1: estimate, 2: estimate})
    shown.note(at, {2: estimate})  # ticket 1 left the queue (called or gone): forgotten
    assert shown.resolved(1, at) == []
    called = at + timedelta(minutes=1)
    samples = shown.resolved(2, called)
    times = [called - waited for _estimate, waited in samples]
    assert times[0] == refreshes[0] and times == sorted(times)
    assert all(b - a >= live.ShownEstimates.EVERY for a, b in itertools.pairwise(times))
    assert len(samples) >= (refreshes[-1] - refreshes[0]) / timedelta(minutes=3)  # no minute long unsampled
    assert shown.resolved(2, called) == []  # once
    shown.note(at, {3: WaitEstimate.unknown()})  # nothing to judge an unknown estimate by
    assert shown.resolved(3, called) == []
