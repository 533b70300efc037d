"""The wait estimator on hand-built queues, its learning models, its texts and the accuracy tracker."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.estimation import (
    AbandonmentModel,
    AccuracyTracker,
    ArrivalModel,
    BranchModel,
    CounterState,
    CounterStatus,
    IntervalCalibration,
    PauseModel,
    QueueSnapshot,
    ServiceTimeModel,
    UnknownReason,
    WaitEstimate,
    estimate_new_ticket,
    estimate_waits,
)
from server.domain.policy import CounterRole, CounterSkills, PolicyRules, QueuedTicket
from server.domain.tickets import PriorityClass

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=TZ)
RULES = PolicyRules()


def minutes(value: timedelta) -> float:
    return value.total_seconds() / 60


def steady_model(services: dict[str, float], cv: float = 0.05) -> BranchModel:
    """A branch whose services take almost exactly their configured time; nobody walks out or pauses."""
    model = BranchModel({code: timedelta(minutes=m) for code, m in services.items()}, TZ)
    model.service_times = ServiceTimeModel(model.expected_service, prior_cv=cv)
    model.abandonment = AbandonmentModel(prior_no_show=0.0)
    model.pauses = PauseModel(prior_probability=0.0)
    return model


def ticket(ticket_id: int, service: str, waited: float, priority: PriorityClass = PriorityClass.NORMAL) -> QueuedTicket:
    return QueuedTicket(ticket_id, service, priority, NOW - timedelta(minutes=waited))


def busy(counter: str, services: tuple[str, ...], serving: str, for_minutes: float = 0.0, **kw: object) -> CounterState:
    return CounterState(
        CounterSkills(counter, services, **kw),  # type: ignore[arg-type]
        CounterStatus.OPEN,
        serving_service=serving,
        serving_since=NOW - timedelta(minutes=for_minutes),
    )


# --- the projection ------------------------------------------------------------------------------------


def test_one_counter_one_service_waits_are_n_plus_one_service_times() -> None:
    model = steady_model({"A": 5.0})
    waiting = [ticket(i, "A", waited=10 - i) for i in range(1, 6)]
    snapshot = QueueSnapshot(NOW, [busy("1", ("A",), "A", for_minutes=0.0)], waiting)
    estimates = estimate_waits(snapshot, RULES, model)
    for ahead, t in enumerate(waiting):
        assert minutes(estimates[t.ticket_id].expected) == pytest.approx(5.0 * (ahead + 1), rel=0.03)
        assert estimates[t.ticket_id].low <= estimates[t.ticket_id].expected <= estimates[t.ticket_id].high


def test_an_idle_open_counter_calls_at_once() -> None:
    model = steady_model({"A": 5.0})
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], [ticket(1, "A", 0), ticket(2, "A", 0)])
    estimates = estimate_waits(snapshot, RULES, model)
    assert estimates[1].expected == timedelta(0)
    assert minutes(estimates[2].expected) == pytest.approx(5.0, rel=0.03)


def test_multi_skill_counters_follow_their_preferences() -> None:
    """Counter 1 serves x before y, counter 2 only y: the y ticket does not queue behind the x tickets."""
    model = steady_model({"x": 5.0, "y": 5.0})
    counters = [busy("1", ("x", "y"), "x"), busy("2", ("y",), "y", for_minutes=1.0)]
    waiting = [ticket(1, "x", 6), ticket(2, "x", 5), ticket(3, "x", 4), ticket(4, "y", 3)]
    estimates = estimate_waits(QueueSnapshot(NOW, counters, waiting), RULES, model)
    assert [round(minutes(estimates[i].expected)) for i in (1, 2, 3)] == [5, 10, 15]
    assert minutes(estimates[4].expected) == pytest.approx(4.0, rel=0.05)  # counter 2 frees up first


def test_secondary_service_is_served_when_the_preferred_queue_is_empty() -> None:
    model = steady_model({"x": 5.0, "y": 5.0})
    counters = [busy("1", ("x", "y"), "x")]
    waiting = [ticket(1, "y", 30), ticket(2, "x", 1)]  # y waited so long its key beats x's preference
    estimates = estimate_waits(QueueSnapshot(NOW, counters, waiting), RULES, model)
    assert estimates[1].expected < estimates[2].expected


def test_a_paused_counter_pushes_waits_out() -> None:
    model = steady_model({"A": 5.0})
    model.observe_pause(NOW - timedelta(hours=3), NOW - timedelta(hours=3) + timedelta(minutes=20))
    waiting = [ticket(1, "A", 2), ticket(2, "A", 1)]
    open_now = estimate_waits(QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], waiting), RULES, model)
    paused = CounterState(CounterSkills("1", ("A",)), CounterStatus.PAUSED, paused_since=NOW - timedelta(minutes=5))
    after_pause = estimate_waits(QueueSnapshot(NOW, [paused], waiting), RULES, model)
    assert minutes(after_pause[1].expected) == pytest.approx(15.0, abs=0.5)  # a 20 min break, 5 min gone
    assert after_pause[2].expected > open_now[2].expected


def test_a_closed_counter_counts_only_from_its_opening() -> None:
    model = steady_model({"A": 5.0})
    later = CounterState(CounterSkills("1", ("A",)), CounterStatus.CLOSED, opens_at=NOW + timedelta(minutes=30))
    estimates = estimate_waits(QueueSnapshot(NOW, [later], [ticket(1, "A", 0)]), RULES, model)
    assert minutes(estimates[1].expected) == pytest.approx(30.0)
    closed = CounterState(CounterSkills("1", ("A",)), CounterStatus.CLOSED)
    assert not estimate_waits(QueueSnapshot(NOW, [closed], [ticket(1, "A", 0)]), RULES, model)[1].known


def test_a_counter_closing_hands_its_queue_to_the_others() -> None:
    model = steady_model({"A": 5.0})
    closing = CounterState(CounterSkills("1", ("A",)), closes_at=NOW + timedelta(minutes=1))
    staying = busy("2", ("A",), "A")
    waiting = [ticket(1, "A", 3), ticket(2, "A", 2), ticket(3, "A", 1)]
    estimates = estimate_waits(QueueSnapshot(NOW, [closing, staying], waiting), RULES, model)
    assert estimates[1].expected == timedelta(0)  # the closing counter takes one more
    assert [round(minutes(estimates[i].expected)) for i in (2, 3)] == [5, 10]


def test_priority_ticket_gets_a_shorter_estimate() -> None:
    model = steady_model({"A": 5.0})
    counters = [busy("1", ("A",), "A"), busy("2", ("A",), "A", for_minutes=2.5)]
    waiting = [ticket(i, "A", waited=6 - i) for i in range(1, 6)]
    snapshot = QueueSnapshot(NOW, counters, waiting)
    normal = estimate_new_ticket(snapshot, "A", PriorityClass.NORMAL, RULES, model)
    priority = estimate_new_ticket(snapshot, "A", PriorityClass.PRIORITY, RULES, model)
    assert priority.expected < normal.expected
    assert minutes(priority.expected) < 3.0  # the 15 min head start puts it before all five


def test_fast_lane_counter_favours_priority_tickets() -> None:
    model = steady_model({"A": 5.0})
    fast_lane = busy("1", ("A",), "A", role=CounterRole.FAST_LANE)
    waiting = [ticket(1, "A", 40), ticket(2, "A", 1, PriorityClass.PRIORITY)]
    estimates = estimate_waits(QueueSnapshot(NOW, [fast_lane], waiting), RULES, model)
    assert estimates[2].expected < estimates[1].expected  # 15 + 30 min head start beats 39 min


def test_expected_arrivals_of_priority_tickets_lengthen_a_normal_wait() -> None:
    quiet = steady_model({"A": 5.0})
    busy_branch = steady_model({"A": 5.0})
    for day in range(3):  # history: a stream of priority tickets every morning
        for k in range(60):
            at = datetime(2025, 2, 20 + day, 10, 0, tzinfo=TZ) + timedelta(minutes=k)
            busy_branch.observe_issued("A", PriorityClass.PRIORITY, at)
    busy_branch.observe_issued("A", PriorityClass.PRIORITY, NOW - timedelta(minutes=1))
    snapshot = QueueSnapshot(NOW, [busy("1", ("A",), "A")], [ticket(1, "A", 0), ticket(2, "A", 0)])
    assert estimate_waits(snapshot, RULES, busy_branch)[2].expected > estimate_waits(snapshot, RULES, quiet)[2].expected


def test_likely_no_shows_shorten_the_wait_behind_them() -> None:
    reliable = steady_model({"A": 10.0})
    flaky = steady_model({"A": 10.0})
    for _ in range(300):  # after 30+ minutes most customers have walked out
        flaky.observe_no_show(NOW - timedelta(minutes=40), NOW, NOW + timedelta(minutes=1))
        flaky.observe_served("A", NOW - timedelta(minutes=3), NOW, NOW + timedelta(minutes=10))
    waiting = [ticket(1, "A", 45), ticket(2, "A", 44), ticket(3, "A", 0)]
    snapshot = QueueSnapshot(NOW, [busy("1", ("A",), "A")], waiting)
    assert estimate_waits(snapshot, RULES, flaky)[3].expected < estimate_waits(snapshot, RULES, reliable)[3].expected


def test_empty_queue() -> None:
    model = steady_model({"A": 5.0})
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], [])
    assert estimate_waits(snapshot, RULES, model) == {}
    tile = estimate_new_ticket(snapshot, "A", PriorityClass.NORMAL, RULES, model)
    assert tile.expected == timedelta(0)
    assert tile.text("zh-CN") == "少于5分钟"
    assert tile.text("en") == "less than 5 min"


def test_new_ticket_estimate_is_the_estimate_once_issued() -> None:
    model = steady_model({"A": 5.0, "B": 8.0}, cv=0.8)
    counters = [busy("1", ("A", "B"), "A", 2.0), busy("2", ("B",), "B", 1.0)]
    waiting = [ticket(1, "A", 5), ticket(2, "B", 4), ticket(3, "A", 2)]
    snapshot = QueueSnapshot(NOW, counters, waiting)
    tile = estimate_new_ticket(snapshot, "B", PriorityClass.NORMAL, RULES, model)
    issued = QueueSnapshot(NOW, counters, [*waiting, QueuedTicket(4, "B", PriorityClass.NORMAL, NOW)])
    assert estimate_waits(issued, RULES, model)[4] == tile


def test_estimates_are_stable_between_refreshes() -> None:
    model = steady_model({"A": 5.0}, cv=0.9)
    snapshot = QueueSnapshot(NOW, [busy("1", ("A",), "A", 3.0)], [ticket(i, "A", 10 - i) for i in range(1, 8)])
    assert estimate_waits(snapshot, RULES, model) == estimate_waits(snapshot, RULES, model)


def test_ticket_sent_to_a_closed_counter_has_no_estimate_and_says_why() -> None:
    model = steady_model({"A": 5.0})
    sent = QueuedTicket(1, "A", PriorityClass.NORMAL, NOW, target_counter="9")
    snapshot = QueueSnapshot(NOW, [CounterState(CounterSkills("1", ("A",)))], [sent])
    estimate = estimate_waits(snapshot, RULES, model)[1]
    assert not estimate.known
    assert estimate.reason is UnknownReason.NOT_STAFFED  # counter 1 is open, but not for this ticket
    assert estimate.text("en") == "no counter serving it now"
    assert estimate.text("zh-CN") == "暂无窗口办理"
    assert estimate.as_dict()["reason"] == "not_staffed"


def test_before_any_counter_opens_the_estimate_says_no_counter_is_open_yet() -> None:
    model = steady_model({"A": 5.0, "B": 5.0})
    closed = [CounterState(CounterSkills("1", ("A",)), CounterStatus.CLOSED),
              CounterState(CounterSkills("2", ("A", "B")), CounterStatus.CLOSED)]
    waits = estimate_waits(QueueSnapshot(NOW, closed, [ticket(1, "A", 3)]), RULES, model,
                           [("A", PriorityClass.NORMAL), ("B", PriorityClass.NORMAL)])
    for key in (1, -1, -2):
        assert not waits[key].known and waits[key].reason is UnknownReason.NO_COUNTER_OPEN
    assert waits[-1].as_dict()["text"] == {"zh-CN": "窗口尚未开放", "en": "no counter open yet"}
    # once counter 1 opens, A is estimated and B (which only counter 2 serves) is "not staffed"
    opened = [CounterState(CounterSkills("1", ("A",))), closed[1]]
    waits = estimate_waits(QueueSnapshot(NOW, opened, [ticket(1, "A", 3)]), RULES, model,
                           [("A", PriorityClass.NORMAL), ("B", PriorityClass.NORMAL)])
    assert waits[-1].known and waits[-1].reason is None and waits[-1].as_dict()["reason"] is None
    assert waits[-2].reason is UnknownReason.NOT_STAFFED


def test_an_unknown_estimate_without_a_computation_is_not_yet() -> None:
    assert WaitEstimate.unknown().as_dict()["reason"] == "not_yet"
    assert WaitEstimate.unknown().text("en") == "no estimate yet"


ESTIMATES = st.builds(
    lambda low, width, into: WaitEstimate(expected=timedelta(minutes=low + width * into),
                                          low=timedelta(minutes=low), high=timedelta(minutes=low + width)),
    st.floats(0, 200), st.floats(0, 60), st.floats(0, 1))


@given(ESTIMATES, st.integers(0, 40), st.integers(0, 40), st.floats(0.1, 30))
def test_more_people_ahead_never_shorten_the_estimate(estimate: WaitEstimate, fewer: int, more: int,
                                                      per_person_min: float) -> None:
    per_person = timedelta(minutes=per_person_min)
    a = estimate.with_more_ahead(min(fewer, more), per_person)
    b = estimate.with_more_ahead(max(fewer, more), per_person)
    assert a.expected <= b.expected and a.low <= b.low and a.high <= b.high
    assert b.low <= b.expected <= b.high
    extra = max(fewer, more)
    assert b.expected - estimate.expected == pytest.approx(per_person * extra, abs=timedelta(microseconds=10))
    if fewer != more:
        assert a.expected < b.expected
    shown, before = b.rounded_range(), estimate.rounded_range()
    assert shown is not None and before is not None and shown[1] >= before[1]  # the end customers hold us to


def test_more_people_ahead_leave_an_unknown_estimate_unknown_and_none_change_nothing() -> None:
    unknown = WaitEstimate.unknown(UnknownReason.NO_COUNTER_OPEN)
    assert unknown.with_more_ahead(5, timedelta(minutes=4)) == unknown
    known = WaitEstimate(timedelta(minutes=10), timedelta(minutes=5), timedelta(minutes=15))
    assert known.with_more_ahead(0, timedelta(minutes=4)) == known
    assert known.with_more_ahead(-3, timedelta(minutes=4)) == known  # calls since the refresh: left as promised
    assert known.with_more_ahead(3, None) == known
    assert known.with_more_ahead(5, timedelta(minutes=2)).rounded_range() == (15, 25)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=25), st.integers(min_value=1, max_value=4), st.floats(0.1, 1.0))
def test_waits_never_decrease_along_a_fifo_queue(length: int, counters: int, cv: float) -> None:
    model = steady_model({"A": 6.0}, cv=cv)
    states = [busy(str(c), ("A",), "A", for_minutes=c) for c in range(counters)]
    waiting = [ticket(i, "A", waited=length - i) for i in range(length)]
    estimates = estimate_waits(QueueSnapshot(NOW, states, waiting), RULES, model)
    expected = [estimates[t.ticket_id].expected for t in waiting]
    assert expected == sorted(expected)


def test_two_hundred_tickets_are_estimated_quickly() -> None:
    import time

    model = steady_model({"A": 4.0, "B": 7.0, "C": 10.0, "D": 12.0}, cv=0.8)
    services = ("A", "B", "C", "D")
    counters = [busy(str(c), services[c % 4 :] + services[: c % 4], services[c % 4], c / 2) for c in range(8)]
    waiting = [ticket(i, services[i % 4], waited=(200 - i) / 2) for i in range(200)]
    snapshot = QueueSnapshot(NOW, counters, waiting)
    estimate_waits(snapshot, RULES, model)
    started = time.perf_counter()
    estimates = estimate_waits(snapshot, RULES, model)
    assert len(estimates) == 200
    assert time.perf_counter() - started < 0.2  # generous for slow CI; the benchmark reports the real figure


# --- presentation -------------------------------------------------------------------------------------------


def estimate_of(expected: float, low: float, high: float) -> WaitEstimate:
    return WaitEstimate(timedelta(minutes=expected), timedelta(minutes=low), timedelta(minutes=high))


@pytest.mark.parametrize(
    ("low", "high", "zh", "en"),
    [
        (9.0, 15.4, "约 10–15 分钟", "about 10–15 min"),
        (9.0, 16.0, "约 10–20 分钟", "about 10–20 min"),
        (0.0, 4.0, "少于5分钟", "less than 5 min"),
        (1.0, 5.4, "少于5分钟", "less than 5 min"),  # the high end passes 5 by under half a minute
        (1.0, 7.0, "少于10分钟", "less than 10 min"),  # ... or by more: the next step
        (2.0, 8.0, "少于10分钟", "less than 10 min"),
        (3.0, 8.0, "约 5–10 分钟", "about 5–10 min"),
        (12.0, 12.5, "约 10–15 分钟", "about 10–15 min"),
        (50.0, 80.0, "约 45–90 分钟", "about 45–90 min"),
        (100.0, 150.0, "105 分钟以上", "105 min or more"),
        (130.0, 200.0, "超过2小时", "more than 2 hours"),
    ],
)
def test_range_texts_in_both_languages(low: float, high: float, zh: str, en: str) -> None:
    estimate = estimate_of((low + high) / 2, low, high)
    assert estimate.text("zh-CN") == zh
    assert estimate.text("en") == en


@given(st.floats(0, 300), st.floats(0, 300))
def test_rounded_range_is_ordered_and_on_the_grid(a: float, b: float) -> None:
    low, high = sorted((a, b))
    shown = estimate_of(low, low, high).rounded_range()
    assert shown is not None
    assert 0 <= shown[0] < shown[1]
    assert shown[0] % 5 == 0 and shown[1] % 5 == 0
    assert shown[1] >= high - 0.5  # the high end customers read is never more than half a minute short
    assert estimate_of(low, low, high).text("en")


def test_as_dict_carries_both_languages() -> None:
    data = estimate_of(12, 9, 15.2).as_dict()
    assert data["range_min"] == [10, 15]
    assert data["text"] == {"zh-CN": "约 10–15 分钟", "en": "about 10–15 min"}


# --- learning ---------------------------------------------------------------------------------------------------


def test_service_time_model_starts_at_the_prior_and_learns_by_hour() -> None:
    model = ServiceTimeModel({"A": timedelta(minutes=5)})
    assert model.mean_minutes("A", 10) == pytest.approx(5.0)
    for _ in range(300):
        model.observe("A", 10, timedelta(minutes=10))
        model.observe("A", 15, timedelta(minutes=4))
    assert model.mean_minutes("A", 10) == pytest.approx(10.0, rel=0.08)
    assert model.mean_minutes("A", 15) == pytest.approx(4.0, rel=0.1)
    assert 4.0 < model.mean_minutes("A", 12) < 10.0  # an hour without data: the service's overall mean
    mean, sd = model.moments("A", 10)
    assert sd < 0.2 * mean  # every observation was 10 minutes


def test_service_time_model_shrinks_few_observations_to_the_prior() -> None:
    model = ServiceTimeModel({"A": timedelta(minutes=5)})
    model.observe("A", 10, timedelta(minutes=20))
    assert 5.0 < model.mean_minutes("A", 10) < 7.0


def test_unknown_service_uses_the_default_prior() -> None:
    assert ServiceTimeModel({}).mean("Z", 9) == timedelta(minutes=5)


@given(st.lists(st.tuples(st.floats(0, 120), st.booleans()), max_size=200))
def test_no_show_curve_is_a_non_decreasing_probability(calls: list[tuple[float, bool]]) -> None:
    model = AbandonmentModel()
    for waited, showed in calls:
        model.observe_call(timedelta(minutes=waited), showed, timedelta(minutes=1))
    curve = model.no_show_curve()
    assert all(0.0 <= p <= 1.0 for p in curve)
    assert curve == sorted(curve)


def test_abandonment_model_learns_walk_outs_and_cancellations() -> None:
    model = AbandonmentModel()
    for _ in range(500):
        model.observe_call(timedelta(minutes=1), showed_up=True)
        model.observe_call(timedelta(minutes=40), showed_up=False, no_show_cost=timedelta(minutes=2))
        model.observe_cancel(timedelta(minutes=20))
    assert model.no_show_probability(timedelta(minutes=1)) < 0.05
    assert model.no_show_probability(timedelta(minutes=50)) > 0.9
    assert model.no_show_cost_minutes() == pytest.approx(2.0, rel=0.05)
    assert model.cancel_hazard() == pytest.approx(500 / (500 * 61), rel=0.05)


def test_cancellation_hazard_is_learnt_per_waited_time_bin() -> None:
    model = AbandonmentModel()
    for _ in range(400):  # half cancel within 2 minutes; the rest wait 30 minutes and are called
        model.observe_cancel(timedelta(minutes=1))
        model.observe_call(timedelta(minutes=30), showed_up=True)
    hazards = model.cancel_hazards()
    assert hazards[0] > 100 * hazards[5]  # cancelling happens early, not in the 20-30 min bin
    cumulative = model.cumulative_cancel_hazard()
    assert cumulative[0] == 0.0 and cumulative == sorted(cumulative)


def test_cancellations_ahead_are_conditioned_on_time_already_waited() -> None:
    """A ticket that has waited past the cancelling phase is not expected to cancel any more."""
    model = steady_model({"A": 5.0})
    for _ in range(500):
        model.observe_cancelled(NOW - timedelta(minutes=1), NOW)
        model.observe_served("A", NOW - timedelta(minutes=30), NOW, NOW + timedelta(minutes=5))
    fresh = QueueSnapshot(NOW, [busy("1", ("A",), "A")], [ticket(1, "A", 0), ticket(2, "A", 0)])
    veteran = QueueSnapshot(NOW, [busy("1", ("A",), "A")], [ticket(1, "A", 20), ticket(2, "A", 0)])
    assert estimate_waits(veteran, RULES, model)[2].expected > estimate_waits(fresh, RULES, model)[2].expected


def test_interval_calibration_settles_where_coverage_is_the_level() -> None:
    calibration = IntervalCalibration(scale=1.0, level=0.8, rate=0.01)
    estimate = estimate_of(10, 5, 15)
    for _ in range(300):  # always covered: the intervals are too wide
        calibration.observe(estimate, timedelta(minutes=10))
    assert calibration.scale == pytest.approx(math.exp(-0.6))  # 300 steps of 0.01 * (0.8 - 1)
    for _ in range(600):  # covered half the time: too narrow
        calibration.observe(estimate, timedelta(minutes=10))
        calibration.observe(estimate, timedelta(minutes=30))
    assert calibration.scale > 1.5
    calibration.observe(WaitEstimate.unknown(), timedelta(minutes=3))  # no estimate: ignored
    assert calibration.observed == 1500


def test_branch_intervals_follow_the_calibration() -> None:
    model = steady_model({"A": 5.0}, cv=0.8)
    snapshot = QueueSnapshot(NOW, [busy("1", ("A",), "A")], [ticket(i, "A", 5 - i) for i in range(4)])
    before = estimate_waits(snapshot, RULES, model)[3]
    for _ in range(200):
        model.observe_estimate(before, timedelta(minutes=60))  # far outside every interval
    after = estimate_waits(snapshot, RULES, model)[3]
    assert after.expected == before.expected
    assert after.high - after.low > before.high - before.low


def test_arrival_model_learns_the_daily_profile_and_todays_pace() -> None:
    model = ArrivalModel(TZ)
    for day in range(4):
        for k in range(120):  # 60 an hour from 10:00 to 12:00
            model.observe(
                "A", PriorityClass.NORMAL, datetime(2025, 3, 1 + day, 10, 0, tzinfo=TZ) + timedelta(seconds=60 * k)
            )
    assert model.history_days == 3  # the fourth day is still today
    assert model.profile_rate("A", 10) == pytest.approx(1.0)
    assert model.profile_rate("A", 13) == 0.0
    rates = model.hourly_rates(datetime(2025, 3, 4, 11, 59, tzinfo=TZ), hours=3)
    assert rates[0]["A"] == pytest.approx(1.0, rel=0.1)  # today runs at the usual pace
    assert rates[2]["A"] == 0.0


def test_new_branch_uses_the_last_hour_as_a_flat_rate() -> None:
    model = ArrivalModel(TZ)
    for k in range(30):
        model.observe("A", PriorityClass.PRIORITY, NOW - timedelta(minutes=k))
    rates = model.hourly_rates(NOW, hours=2)
    assert rates[0]["A"] == pytest.approx(0.5) == rates[1]["A"]
    assert model.class_mix("A") == [(PriorityClass.PRIORITY, 1.0)]


# --- accuracy tracker -------------------------------------------------------------------------------------------


def test_accuracy_tracker_summaries() -> None:
    tracker = AccuracyTracker(window=3)
    tracker.record("A", estimate_of(10, 8, 12), timedelta(minutes=11))  # dropped by the window
    tracker.record("A", estimate_of(10, 8, 12), timedelta(minutes=12))  # error -2, inside
    tracker.record("A", estimate_of(10, 8, 12), timedelta(minutes=18))  # error -8, outside, under by > 5
    tracker.record("A", estimate_of(10, 8, 12), timedelta(minutes=6))  # error +4, outside
    tracker.record("B", estimate_of(5, 4, 6), timedelta(minutes=5))
    tracker.record("B", WaitEstimate.unknown(), timedelta(minutes=5))  # no estimate: not scored
    summary = tracker.summary("A")
    assert summary is not None
    assert summary.count == 3
    assert summary.mae == pytest.approx(14 / 3)
    assert summary.bias == pytest.approx(-2.0)
    assert summary.coverage == pytest.approx(1 / 3)
    assert summary.under_5_share == pytest.approx(1 / 3)
    assert summary.rmse == pytest.approx(((4 + 64 + 16) / 3) ** 0.5)
    pooled = tracker.summary()
    assert pooled is not None and pooled.count == 4
    assert tracker.services() == ["A", "B"]
    assert tracker.summary("C") is None
