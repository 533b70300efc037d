"""Erlang B/C/A and the hourly plan against known values (WAITTIME.md) and limiting cases."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.staffing import (
    counters_needed,
    erlang_a,
    erlang_b,
    erlang_c,
    hourly_plan,
    mean_wait,
    service_level,
)


def test_erlang_b_small_cases_by_hand() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)


def test_call_centre_example_100_calls_per_half_hour() -> None:
    """100 arrivals per 30 min, 3 min handle time, 80% answered within 20 s: 14 agents."""
    rate, handle, target = 100 / 30, 3.0, 20 / 60  # per minute, minutes
    assert counters_needed(rate, handle, target, 0.8) == 14
    assert service_level(14, rate, handle, target) == pytest.approx(0.8884, abs=5e-5)
    assert erlang_c(14, rate * handle) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(13, rate, handle, target) < 0.8


def test_hall_example_60_per_hour_6_minutes() -> None:
    """60 arrivals/h, 6 min service, 80% within 10 min: 7 counters, SL ~0.884, P(wait) ~0.61."""
    assert counters_needed(1.0, 6.0, 10.0, 0.8) == 7
    assert service_level(7, 1.0, 6.0, 10.0) == pytest.approx(0.8841, abs=5e-4)
    assert erlang_c(7, 6.0) == pytest.approx(0.6138, abs=5e-4)
    assert mean_wait(7, 1.0, 6.0) == pytest.approx(erlang_c(7, 6.0) / (7 / 6 - 1))


def test_overloaded_systems() -> None:
    assert erlang_c(5, 5.0) == 1.0
    assert service_level(5, 1.0, 5.0, 10.0) == 0.0
    assert mean_wait(4, 1.0, 5.0) == math.inf


def test_occupancy_cap_adds_counters() -> None:
    uncapped = counters_needed(1.0, 6.0, 10.0, 0.8)
    capped = counters_needed(1.0, 6.0, 10.0, 0.8, max_occupancy=0.7)
    assert capped == math.ceil(6 / 0.7) > uncapped


def test_no_arrivals_need_no_counters() -> None:
    assert counters_needed(0.0, 6.0, 10.0, 0.8) == 0


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0.01, max_value=50.0))
def test_erlang_b_and_c_are_probabilities_and_ordered(servers: int, load: float) -> None:
    blocking = erlang_b(servers, load)
    assert 0.0 <= blocking <= 1.0
    assert erlang_b(servers + 1, load) <= blocking
    if servers > load:
        assert blocking <= erlang_c(servers, load) <= 1.0


def test_erlang_a_without_abandonment_is_erlang_c() -> None:
    result = erlang_a(7, 1.0, 6.0, mean_patience=math.inf, target_wait=10.0)
    assert result.p_wait == pytest.approx(erlang_c(7, 6.0), rel=1e-6)
    assert result.service_level == pytest.approx(service_level(7, 1.0, 6.0, 10.0), abs=1e-6)
    assert result.mean_wait == pytest.approx(mean_wait(7, 1.0, 6.0), rel=1e-6)
    assert result.p_abandon == 0.0
    assert result.occupancy == pytest.approx(6 / 7, rel=1e-6)


def test_erlang_a_with_patience_equal_to_service_is_infinite_server() -> None:
    """With theta = mu every customer leaves at rate mu: the count is Poisson(a)."""
    servers, load = 4, 3.0
    result = erlang_a(servers, 1.0, load, mean_patience=load)
    poisson = [math.exp(-load) * load**k / math.factorial(k) for k in range(80)]
    assert result.p_wait == pytest.approx(sum(poisson[servers:]), rel=1e-9)
    queue = sum((k - servers) * p for k, p in enumerate(poisson) if k > servers)
    assert result.mean_queue == pytest.approx(queue, rel=1e-9)
    assert result.p_abandon == pytest.approx(queue / load, rel=1e-9)  # theta E[Q] / lambda, theta = 1/a


def test_erlang_a_handles_overload_thanks_to_abandonment() -> None:
    result = erlang_a(5, 2.0, 5.0, mean_patience=20.0, target_wait=10.0)  # offered 10 Erlangs on 5 counters
    assert result.p_wait > 0.95
    assert 0.4 < result.p_abandon < 0.6  # about half must leave
    assert 0.0 <= result.service_level <= 1.0


@given(
    st.integers(min_value=1, max_value=15),
    st.floats(min_value=0.1, max_value=3.0),
    st.floats(min_value=2.0, max_value=60.0),
)
def test_erlang_a_more_counters_never_hurt(servers: int, rate: float, patience: float) -> None:
    fewer = erlang_a(servers, rate, 5.0, patience, target_wait=5.0)
    more = erlang_a(servers + 1, rate, 5.0, patience, target_wait=5.0)
    assert more.p_abandon <= fewer.p_abandon + 1e-9
    assert more.service_level >= fewer.service_level - 1e-9
    assert 0.0 <= fewer.p_abandon <= 1.0


def test_erlang_a_service_level_grows_with_target() -> None:
    levels = [erlang_a(6, 1.2, 5.0, 20.0, target_wait=t).service_level for t in (0.0, 1.0, 5.0, 20.0, 120.0)]
    assert levels == sorted(levels)
    assert levels[-1] == pytest.approx(1.0, abs=1e-6)


def test_hourly_plan_without_lag_is_period_by_period_erlang_c() -> None:
    arrivals = [30.0, 60.0, 90.0, 60.0]
    plan = hourly_plan(arrivals, timedelta(minutes=6), timedelta(minutes=10), 0.8, lag=timedelta(0))
    assert plan == [counters_needed(a / 60, 6.0, 10.0, 0.8) for a in arrivals]


def test_hourly_plan_lag_looks_back_one_service_time() -> None:
    arrivals = [0.0, 120.0, 120.0, 0.0]
    plan = hourly_plan(arrivals, timedelta(minutes=6), timedelta(minutes=10), 0.8)
    steady = counters_needed(2.0, 6.0, 10.0, 0.8)
    assert plan[0] < steady  # the first hour mostly sees the empty hour before it
    assert plan[2] == steady
    assert 0 < plan[3] < steady  # customers arriving late in hour 2 are still being served
