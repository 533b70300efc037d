"""The arrivals forecast (server/domain/forecast.py) and the pooled counters with skills (server/domain/staffing.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import forecast, staffing

TARGET = date(2026, 11, 24)
TODAY = date(2026, 11, 20)

counts_per_week = st.lists(st.integers(0, 200), min_size=1, max_size=8)


def history(values: list[int], hour: int = 10) -> tuple[list[date], dict[date, dict[int, float]]]:
    days = [TARGET - timedelta(weeks=k + 1) for k in range(len(values))]
    return days, {day: {hour: float(v)} for day, v in zip(days, values, strict=True)}


@given(counts_per_week)
def test_the_forecast_lies_in_its_range_and_within_the_history_bounds_times_the_trend(values: list[int]) -> None:
    days, counts = history(values)
    answer = forecast.forecast_day(TARGET, days, counts, [10, 11])[10]
    trend = forecast.trend_factor(TARGET, {d: float(sum(c.values())) for d, c in counts.items()})
    assert forecast.TREND_MIN <= trend <= forecast.TREND_MAX
    assert 0 <= answer.low <= answer.expected <= answer.high
    assert min(values) * trend - 1e-9 <= answer.expected <= max(values) * trend + 1e-9
    assert forecast.forecast_day(TARGET, days, counts, [11])[11].expected == 0  # no history that hour


@given(st.integers(0, 300), st.integers(1, 8))
def test_a_steady_history_is_forecast_exactly_with_a_poisson_wide_range(level: int, weeks: int) -> None:
    days, counts = history([level] * weeks)
    answer = forecast.forecast_day(TARGET, days, counts, [10])[10]
    assert answer.expected == pytest.approx(level)
    if level:
        assert answer.high - answer.expected >= forecast.Z_80 * level ** 0.5 - 1e-9


def test_recent_weeks_weigh_more_and_a_rising_history_is_forecast_higher() -> None:
    days, counts = history([40, 10, 10])  # last week busier than the two before
    assert forecast.forecast_day(TARGET, days, counts, [10], trend=1.0)[10].expected > 20
    rising, rising_counts = history([60, 50, 40, 30, 20])
    assert forecast.trend_factor(TARGET, {d: c[10] for d, c in rising_counts.items()}) > 1
    assert forecast.forecast_day(TARGET, rising, rising_counts, [10])[10].expected > 45


@given(st.sets(st.integers(1, 8), max_size=8), st.integers(1, 8))
def test_history_days_are_the_same_weekday_ended_and_open(closed_weeks: set[int], weeks: int) -> None:
    closed = {TARGET - timedelta(weeks=k) for k in closed_weeks}
    days = forecast.history_days(TARGET, TODAY, weeks, lambda d: d in closed)
    assert all(d.weekday() == TARGET.weekday() and d < TODAY and d not in closed for d in days)
    assert days == sorted(days, reverse=True)
    assert len(days) == len([k for k in range(1, weeks + 1) if k not in closed_weeks])


def test_no_history_forecasts_zero_and_a_closed_day_has_no_hours() -> None:
    assert forecast.forecast_day(TARGET, [], {}, [9]) == {9: forecast.HourForecast(0.0, 0.0, 0.0)}
    assert forecast.forecast_day(TARGET, *history([5]), []) == {}


skills = st.dictionaries(st.sampled_from("123456"), st.lists(st.sampled_from("ABCD"), min_size=1, max_size=3,
                                                             unique=True), max_size=6)


@given(skills)
def test_pools_split_services_and_counters_by_shared_skills(counters: dict[str, list[str]]) -> None:
    services = ["A", "B", "C", "D"]
    pools = staffing.skill_pools(services, counters)
    assert sorted(s for p in pools for s in p.services) == services  # each service in exactly one pool
    for pool in pools:
        for number in pool.counters:  # a counter's services all lie in its pool
            assert set(counters[number]) <= pool.services
        others = set(counters) - pool.counters
        assert not any(set(counters[n]) & pool.services for n in others)


demand = st.builds(staffing.Demand, st.floats(0, 3), st.floats(1, 15), st.floats(1, 20),
                   st.one_of(st.none(), st.floats(0, 0.2)))


@settings(max_examples=40, deadline=None)
@given(st.lists(demand, min_size=1, max_size=3))
def test_pooling_never_needs_more_than_dedicated_counters_and_erlang_a_never_more_than_c(
        demands: list[staffing.Demand]) -> None:
    pooled = staffing.pooled_need(demands)
    if pooled.erlang_a is not None:
        assert pooled.erlang_a <= pooled.erlang_c
    # one stream with the strictest target never needs more than each service alone at that target
    strict = min(d.target_wait for d in demands)
    alone = sum(staffing.pooled_need([staffing.Demand(d.arrival_rate, d.mean_service, strict)]).erlang_c
                for d in demands)
    assert pooled.erlang_c <= max(alone, 1) or all(d.arrival_rate == 0 for d in demands)


def test_erlang_a_with_abandonment_needs_fewer_counters_but_caps_walk_outs() -> None:
    # 60 an hour, 6 min service, 80% within 10 min: Erlang C needs 7 (WAITTIME.md)
    assert staffing.counters_needed(1.0, 6.0, 10.0, 0.8) == 7
    impatient = staffing.counters_needed_with_abandonment(1.0, 6.0, 5.0, 10.0, 0.8, max_abandon=0.2)
    assert impatient < 7
    assert staffing.erlang_a(impatient, 1.0, 6.0, 5.0, 10.0).p_abandon <= 0.2
    assert staffing.erlang_a(impatient - 1, 1.0, 6.0, 5.0, 10.0).p_abandon > 0.2 or \
        staffing.erlang_a(impatient - 1, 1.0, 6.0, 5.0, 10.0).service_level < 0.8
    # the walk-out cap may want more than Erlang C: the Erlang C answer is the most it gives
    assert staffing.counters_needed_with_abandonment(1.0, 6.0, 20.0, 10.0, 0.8) <= 7
    assert staffing.counters_needed_with_abandonment(1.0, 6.0, float("inf"), 10.0, 0.8) == 7


def test_subsets_are_smallest_first_and_large_pools_check_singles_and_the_whole() -> None:
    subsets = staffing.service_subsets(frozenset("ABC"))
    assert len(subsets) == 7 and [len(s) for s in subsets] == sorted(len(s) for s in subsets)
    many = frozenset("ABCDEFGH")
    assert staffing.service_subsets(many) == [frozenset(c) for c in sorted(many)] + [many]
