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


# --- the estimates' accuracy and walk-outs -------------------------------------------------------------------

START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


def as_issued(low: int, high: int, expected: float, known: bool = True) -> dict[str, object]:
    """An estimate as the issued event keeps it (WaitEstimate.as_dict)."""
    return {"known": known, "expected_min": expected, "low_min": low - 0.4, "high_min": high - 0.3,
            "range_min": [low, high] if known else None, "text": {}, "reason": None if known else "not_yet"}


def test_the_estimate_given_is_read_as_the_customer_saw_it() -> None:
    from server.domain.estimation import GivenEstimate, WaitEstimate

    shown = GivenEstimate.of(as_issued(10, 15, 12.5))
    assert shown == GivenEstimate(600.0, 900.0, 750.0)  # the shown range, not the unrounded interval
    assert shown.within(600) and shown.within(900) and not shown.within(901) and not shown.within(599)
    assert shown.late_by(900 + 301) == 301
    open_above = GivenEstimate.of(as_issued(90, 135, 100))  # "90 min or more": no high end promised
    assert open_above is not None and open_above.high_s is None and open_above.within(10 * 3600)
    assert open_above.late_by(10 * 3600) == 0
    assert GivenEstimate.of(as_issued(10, 15, 12, known=False)) is None
    for broken in (None, "soon", {"known": True}, {"known": True, "range_min": ["x", 1], "expected_min": 1}):
        assert GivenEstimate.of(broken) is None
    # what the issue command stores reads back
    real = WaitEstimate(timedelta(minutes=12), timedelta(minutes=8), timedelta(minutes=17)).as_dict()
    assert GivenEstimate.of(real) == GivenEstimate(10 * 60.0, 20 * 60.0, 12 * 60.0)


end_states = st.sampled_from([TicketState.DONE, TicketState.NO_SHOW, TicketState.CANCELLED, TicketState.EXPIRED])


@st.composite
def closed_tickets(draw: st.DrawFn) -> TicketFacts:
    """One ticket of a closed day: any end, maybe called, maybe given a known (or unknown) estimate."""
    from server.domain.estimation import GivenEstimate

    state = draw(end_states)
    issued_at = START + timedelta(minutes=draw(st.integers(0, 600)))
    called = state in (TicketState.DONE, TicketState.NO_SHOW) or (state is TicketState.EXPIRED and draw(st.booleans()))
    called_at = issued_at + timedelta(seconds=draw(st.integers(0, 3 * 3600))) if called else None
    estimate = None
    if draw(st.booleans()):
        low = draw(st.integers(0, 150)) // 5 * 5
        high = low + draw(st.sampled_from([5, 10, 15, 30]))
        estimate = GivenEstimate.of(as_issued(low, high, draw(st.floats(low, high)), known=draw(st.booleans())))
    counter = draw(st.sampled_from(["2", "3"])) if called else None
    return TicketFacts(draw(st.sampled_from(["BILL", "PLAN"])), state, False, issued_at, called_at, None, None, None,
                       counter, None, (), estimate=estimate,
                       cancelled_by_customer=state is TicketState.CANCELLED and draw(st.booleans()))


@given(st.lists(closed_tickets(), max_size=60))
def test_each_called_ticket_with_an_estimate_counts_once_in_every_hall_grain(tickets: list[TicketFacts]) -> None:
    from server.domain.reports import Group, Section
    from server.services.reports import _figures

    cells = day_cells(tickets, SHANGHAI, {})
    judged = [t for t in tickets if t.estimate is not None and t.first_called_at is not None]
    for grain in (Grain.DAY, Grain.SERVICE, Grain.HOUR):
        summed = {m: sum(c.counts[m] for c in cells if c.grain is grain)
                  for m in ("estimated", "within_range", "late_over_5min", "abs_error_sum_s")}
        assert summed["estimated"] == len(judged)  # a ticket with no estimate, or never called, never counts
        outside = sum(1 for t in judged if not t.estimate.within((t.first_called_at - t.issued_at).total_seconds()))
        assert summed["within_range"] + outside == summed["estimated"]
        assert summed["late_over_5min"] <= outside  # late is outside the range
        row = _figures(Section.ACCURACY, Group.TOTAL, summed)
        for share_name in ("within_range_share", "late_over_5min_share"):
            assert row[share_name] is None if not judged else 0 <= row[share_name] <= 1
        assert row["mean_abs_error_s"] is None if not judged else row["mean_abs_error_s"] >= 0
    assert all(c.counts["estimated"] == 0 for c in cells if c.grain in (Grain.COUNTER, Grain.STAFF))


@given(st.lists(closed_tickets(), max_size=60))
def test_walk_outs_staff_cancels_and_no_shows_are_apart(tickets: list[TicketFacts]) -> None:
    cells = day_cells(tickets, SHANGHAI, {})
    (day,) = [c for c in cells if c.grain is Grain.DAY] or [None]
    if day is None:
        assert not tickets
        return
    cancelled = [t for t in tickets if t.state is TicketState.CANCELLED]
    assert day.counts["walked_out"] == sum(1 for t in cancelled if t.cancelled_by_customer)
    assert day.counts["walked_out"] + day.counts["cancelled"] == len(cancelled)
    assert day.counts["no_shows"] == sum(1 for t in tickets if t.state is TicketState.NO_SHOW)
    assert day.counts["issued"] == sum(day.counts[end] for end in ("served", "no_shows", "walked_out", "cancelled",
                                                                     "expired"))
    assert all(c.counts["walked_out"] == 0 for c in cells if c.grain in (Grain.COUNTER, Grain.STAFF))


def test_an_estimate_judged_against_the_wait_to_the_first_call() -> None:
    from server.domain.estimation import GivenEstimate
    from server.domain.reports import estimate_counts

    shown = GivenEstimate.of(as_issued(10, 15, 12))

    def counted(wait_min: float, estimate: GivenEstimate | None = shown) -> dict[str, int]:
        return estimate_counts(TicketFacts("BILL", TicketState.DONE, False, START,
                                           START + timedelta(minutes=wait_min), None, None, None, estimate=estimate))

    assert counted(12) == {"estimated": 1, "within_range": 1, "late_over_5min": 0, "abs_error_sum_s": 0}
    assert counted(20) == {"estimated": 1, "within_range": 0, "late_over_5min": 0, "abs_error_sum_s": 480}
    assert counted(20.5) == {"estimated": 1, "within_range": 0, "late_over_5min": 1, "abs_error_sum_s": 510}
    assert counted(2) == {"estimated": 1, "within_range": 0, "late_over_5min": 0, "abs_error_sum_s": 600}
    assert counted(12, None) == {}
