"""Re-aging an estimate and a projection: what an idle refresh publishes instead of running the estimator again."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.domain.estimation import UnknownReason, WaitEstimate
from server.services.live import HallProjection, NewTicket, age_projection

seconds = st.integers(min_value=0, max_value=4 * 3600).map(lambda s: timedelta(seconds=s))


@st.composite
def estimates(draw: st.DrawFn) -> WaitEstimate:
    low, expected, high = sorted(draw(st.lists(seconds, min_size=3, max_size=3)))
    return WaitEstimate(expected=expected, low=low, high=high)


@given(estimates(), seconds, seconds)
def test_an_aged_estimate_keeps_its_call_time(estimate: WaitEstimate, first: timedelta, then: timedelta) -> None:
    aged = estimate.aged(first)
    if first > timedelta(0) and estimate.expected <= first:
        assert aged is None  # the call was expected by now: estimate again
        return
    assert aged is not None
    assert aged.expected == estimate.expected - first  # the same expected call time
    assert timedelta(0) <= aged.low <= aged.expected <= aged.high
    assert aged.high == estimate.high - first
    assert aged.low == max(timedelta(0), estimate.low - first)
    twice, once = aged.aged(then), estimate.aged(first + then)
    assert (twice is None) == (once is None)  # aging in two steps is aging once
    if twice is not None and once is not None:
        assert (twice.expected, twice.low, twice.high) == (once.expected, once.low, once.high)


@given(seconds)
def test_an_unknown_estimate_stays_unknown(elapsed: timedelta) -> None:
    unknown = WaitEstimate.unknown(UnknownReason.NO_COUNTER_OPEN)
    assert unknown.aged(elapsed) == unknown


@given(st.dictionaries(st.integers(min_value=1, max_value=10_000), estimates(), max_size=30), seconds)
def test_a_projection_ages_its_tickets_and_keeps_the_new_tickets(waits: dict[int, WaitEstimate],
                                                                elapsed: timedelta) -> None:
    new = {("BILL", "normal"): NewTicket(WaitEstimate(timedelta(minutes=9), timedelta(minutes=5),
                                                      timedelta(minutes=15)), ahead=len(waits), per_person=None)}
    ghost = {-1: new[("BILL", "normal")].estimate}
    projection = HallProjection({**waits, **ghost}, {ticket_id: 1 for ticket_id in waits}, new)
    aged = age_projection(projection, elapsed)
    if elapsed > timedelta(0) and any(e.expected <= elapsed for e in waits.values()):
        assert aged is None
        return
    assert aged is not None
    assert aged.waits == {ticket_id: e.aged(elapsed) for ticket_id, e in waits.items()}
    assert aged.ahead == projection.ahead and aged.new == new  # a ticket issued now is new again
