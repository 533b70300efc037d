"""The reports' pure rules: histogram bins and percentiles, a day's cells, the period's checks."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.errors import DomainError
from server.domain.reports import (
    BIN_EDGES_MIN,
    BINS,
    Grain,
    Period,
    bin_of,
    day_cells,
    duration_figures,
    histogram_percentile,
)
from server.domain.service_day import TicketFacts, percentile
from server.domain.tickets import TicketState

durations = st.lists(st.floats(min_value=0, max_value=4 * 3600, allow_nan=False), min_size=1, max_size=300)
shares = st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.01, 1.0])


def histogram(values: list[float]) -> list[int]:
    counts = [0] * BINS
    for value in values:
        counts[bin_of(value)] += 1
    return counts


@given(durations, shares)
def test_a_percentile_from_bins_is_within_the_bin_of_the_exact_one(values: list[float], share: float) -> None:
    exact = percentile(values, share)
    assert exact is not None
    estimate = histogram_percentile(histogram(values), share)
    assert estimate is not None
    index = bin_of(exact)
    low = BIN_EDGES_MIN[index] * 60
    high = BIN_EDGES_MIN[index + 1] * 60 if index + 1 < BINS else low
    assert low <= estimate <= high


@given(st.lists(durations, min_size=1, max_size=5), shares)
def test_summed_bins_answer_as_the_whole_range_would(days: list[list[float]], share: float) -> None:
    summed = [sum(column) for column in zip(*(histogram(day) for day in days), strict=True)]
    assert summed == histogram([v for day in days for v in day])
    assert histogram_percentile(summed, share) == histogram_percentile(histogram([v for d in days for v in d]), share)


@given(st.floats(min_value=-100, max_value=10 * 3600, allow_nan=False))
def test_every_duration_falls_in_the_bin_of_its_minutes(seconds: float) -> None:
    index = bin_of(seconds)
    minutes = max(seconds, 0) / 60
    assert BIN_EDGES_MIN[index] <= minutes
    assert index == BINS - 1 or minutes < BIN_EDGES_MIN[index + 1]


@given(durations)
def test_a_groups_percentiles_rise_with_the_share_and_its_bins_are_its_count(values: list[float]) -> None:
    """The chart page draws p50, p80 and p90 side by side and the distribution from the bins."""
    bins = histogram(values)
    figures = duration_figures(len(values), int(sum(values)), bins)
    assert figures["p50_s"] <= figures["p80_s"] <= figures["p90_s"] <= figures["p95_s"]
    assert sum(bins) == figures["count"]


def test_an_empty_histogram_has_no_percentile() -> None:
    assert histogram_percentile([0] * BINS, 0.9) is None
    assert histogram_percentile(histogram([3 * 3600.0]), 0.5) == 120 * 60  # the open last bin: its lower edge


def test_a_days_cells_count_each_ticket_once_per_grain() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    tickets = [
        TicketFacts("BILL", TicketState.DONE, False, start, start + timedelta(minutes=4),
                    start + timedelta(minutes=5), start + timedelta(minutes=12), False, "2", "zhang.wei", ()),
        TicketFacts("BILL", TicketState.NO_SHOW, True, start, start + timedelta(minutes=30), None, None, None, "2",
                    "zhang.wei"),
        TicketFacts("PLAN", TicketState.CANCELLED, False, start + timedelta(hours=1), None, None, None, None),
        TicketFacts("PLAN", TicketState.DONE, False, start, start + timedelta(minutes=1),
                    start + timedelta(minutes=1), start + timedelta(minutes=3), True, "3", "li.na", ("SLOW",)),
    ]
    cells = day_cells(tickets, zone, {"BILL": timedelta(minutes=10), "PLAN": timedelta(minutes=10)})
    by = {(c.grain, c.hour, c.service_code, c.counter_number, c.staff_username): c for c in cells}
    for grain in (Grain.SERVICE, Grain.HOUR):
        assert sum(c.counts["issued"] for c in cells if c.grain is grain) == 4
        assert sum(c.counts["cancelled"] for c in cells if c.grain is grain) == 1
    assert sum(c.counts["issued"] for c in cells if c.grain in (Grain.COUNTER, Grain.STAFF)) == 0
    bill = by[(Grain.SERVICE, -1, "BILL", "", "")]
    assert (bill.counts["served"], bill.counts["no_shows"], bill.counts["transferred"]) == (1, 1, 1)
    assert (bill.counts["wait_count"], bill.counts["within_target"], bill.counts["wait_sum_s"]) == (2, 1, 34 * 60)
    assert bill.service_bins[bin_of(7 * 60)] == 1
    assert by[(Grain.HOUR, 10, "", "", "")].counts["issued"] == 3
    counter_2 = by[(Grain.COUNTER, -1, "", "2", "")]
    assert (counter_2.counts["called"], counter_2.counts["rated"], counter_2.counts["satisfied"]) == (2, 1, 1)
    plan = by[(Grain.SERVICE, -1, "PLAN", "", "")]
    assert (plan.counts["rated"], plan.counts["satisfied"], dict(plan.reasons)) == (1, 0, {"SLOW": 1})


def test_a_period_is_checked_and_counts_its_weekdays() -> None:
    today = date(2026, 12, 5)
    assert Period.checked(None, None, today) == Period(date(2026, 11, 5), date(2026, 12, 4))
    with pytest.raises(DomainError, match="after"):
        Period.checked(date(2026, 12, 2), date(2026, 12, 1), today)
    with pytest.raises(DomainError, match="at most 400"):
        Period.checked(date(2025, 1, 1), date(2026, 2, 5), today)
    week_and_a_day = Period(date(2026, 11, 30), date(2026, 12, 7))  # Monday to the next Monday
    assert week_and_a_day.weekday_counts() == [2, 1, 1, 1, 1, 1, 1]
    assert sum(Period(date(2026, 1, 1), date(2026, 12, 31)).weekday_counts()) == 365
    assert math.isclose(sum(Period(date(2026, 1, 1), date(2026, 1, 1)).weekday_counts()), 1)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), st.integers(min_value=0, max_value=400))
def test_whole_months_and_the_days_at_the_ends_cover_the_range_once(first: date, length: int) -> None:
    from server.domain.reports import next_month, split_months

    last = first + timedelta(days=length)
    months, edges = split_months(first, last)
    days = [m + timedelta(days=n) for m in months for n in range((next_month(m) - m).days)]
    days += [start + timedelta(days=n) for start, end in edges for n in range((end - start).days + 1)]
    assert sorted(days) == [first + timedelta(days=n) for n in range(length + 1)]
