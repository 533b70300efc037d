"""When a service day ends (closing + grace, at the latest midnight; daylight saving included) and its figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.hall import Branch
from server.domain.schedule import DayHours, WeeklyHours
from server.domain.service_day import (
    DayBoundary,
    TicketFacts,
    day_ends_at,
    day_figures,
    next_midnight,
    percentile,
)
from server.domain.tickets import TicketState
from tests.support import demo_config

LONDON = ZoneInfo("Europe/London")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Branch:
    return demo_config("sqlite:///unused.sqlite3", tmp_path_factory.mktemp("day")).branches[0]


def with_hours(branch: Branch, hours: str, zone: ZoneInfo = SHANGHAI) -> Branch:
    return replace(branch, hours=WeeklyHours.of(DayHours.parse(hours)), timezone=zone, exceptions=())


def test_a_day_ends_grace_after_closing(branch: Branch) -> None:
    hall = with_hours(branch, "09:00-21:00")
    assert day_ends_at(hall, date(2026, 11, 24), HOUR) == datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI)
    assert day_ends_at(hall, date(2026, 11, 24), timedelta(0)) == datetime(2026, 11, 24, 21, 0, tzinfo=SHANGHAI)


def test_a_day_never_ends_after_midnight(branch: Branch) -> None:
    late = with_hours(branch, "09:00-23:30")
    assert day_ends_at(late, date(2026, 11, 24), HOUR) == datetime(2026, 11, 25, 0, 0, tzinfo=SHANGHAI)
    all_day = with_hours(branch, "00:00-24:00")
    assert day_ends_at(all_day, date(2026, 11, 24), timedelta(0)) == datetime(2026, 11, 25, tzinfo=SHANGHAI)


def test_the_boundary_the_last_minute_before_midnight_and_the_first_after(branch: Branch) -> None:
    hall = with_hours(branch, "00:00-24:00")
    before = DayBoundary.at(hall, datetime(2026, 11, 24, 23, 59, 59, tzinfo=SHANGHAI), HOUR)
    assert before.ended_through == date(2026, 11, 23)
    assert before.current_ends_at == datetime(2026, 11, 25, tzinfo=SHANGHAI)
    after = DayBoundary.at(hall, datetime(2026, 11, 25, 0, 0, tzinfo=SHANGHAI), HOUR)
    assert after.ended_through == date(2026, 11, 24)
    assert after.current_began_at == datetime(2026, 11, 25, tzinfo=SHANGHAI)


def test_between_the_end_and_midnight_the_day_is_over_already(branch: Branch) -> None:
    hall = with_hours(branch, "09:00-21:00")
    evening = DayBoundary.at(hall, datetime(2026, 11, 24, 22, 30, tzinfo=SHANGHAI), HOUR)
    assert evening.ended_through == date(2026, 11, 24)
    assert evening.current_began_at == datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI)
    assert evening.current_ends_at == datetime(2026, 11, 25, 22, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("day", "hours_long"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25),
                                                 (date(2026, 6, 1), 24)])
def test_daylight_saving_days_are_as_long_as_the_clocks_say(branch: Branch, day: date, hours_long: int) -> None:
    """London springs forward on 29 March 2026 and falls back on 25 October: those days last 23 and 25 hours."""
    hall = with_hours(branch, "00:00-24:00", LONDON)
    start = datetime.combine(day, time(0), tzinfo=LONDON)
    assert (next_midnight(hall, day).astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=hours_long)
    # an 18:00 close is 18:00 on the wall clock, whatever the offset that day
    closing = with_hours(branch, "09:00-18:00", LONDON)
    ends = day_ends_at(closing, day, HOUR)
    assert ends.astimezone(LONDON).time() == time(19, 0)


@settings(max_examples=200, deadline=None)
@given(minutes=st.integers(min_value=0, max_value=60 * 24 * 400), grace=st.integers(min_value=0, max_value=720),
       zone=st.sampled_from([SHANGHAI, LONDON, ZoneInfo("America/New_York")]),
       hours=st.sampled_from(["09:00-21:00", "00:00-24:00", "08:30-17:00", "10:00-23:59"]))
def test_the_boundary_is_consistent_at_any_instant(branch: Branch, minutes: int, grace: int, zone: ZoneInfo,
                                                   hours: str) -> None:
    hall = with_hours(branch, hours, zone)
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    boundary = DayBoundary.at(hall, now, timedelta(minutes=grace))
    assert boundary.current_began_at <= now < boundary.current_ends_at
    assert boundary.current_began_at == day_ends_at(hall, boundary.ended_through, timedelta(minutes=grace))
    local_today = now.astimezone(zone).date()
    assert boundary.ended_through in (local_today, local_today - timedelta(days=1))


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0
    assert percentile([float(v) for v in range(1, 12)], 0.9) == 10.0


def test_figures_per_service_add_up(branch: Branch) -> None:
    t0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

    def facts(service: str, state: TicketState, wait_min: float | None = None, rated: bool | None = None,
              served_min: float | None = None) -> TicketFacts:
        called = None if wait_min is None else t0 + timedelta(minutes=wait_min)
        started = called if served_min is not None else None
        finished = None if served_min is None or called is None else called + timedelta(minutes=served_min)
        return TicketFacts(service, state, False, t0, called, started, finished, rated)

    rows = [facts("PLAN", TicketState.DONE, 30, False, 10), facts("BILL", TicketState.DONE, 5, True, 4),
            facts("BILL", TicketState.NO_SHOW, 12), facts("BILL", TicketState.EXPIRED),
            facts("BILL", TicketState.CANCELLED), facts("ZZZ-RETIRED", TicketState.EXPIRED)]
    figures = {f.service_code: f for f in day_figures(branch, rows)}
    assert list(figures) == ["BILL", "PLAN", "ZZZ-RETIRED"]  # the branch's order, then unknown codes
    bill = figures["BILL"]
    assert (bill.issued, bill.served, bill.no_shows, bill.cancelled, bill.expired) == (4, 1, 1, 1, 1)
    assert (bill.called, bill.within_target, bill.wait_mean_s) == (2, 1, 510.0)  # BILL's target is 10 min
    assert (bill.rated, bill.satisfied) == (1, 0)
    assert figures["PLAN"].service_mean_s == 600.0 and figures["PLAN"].satisfied == 1


def test_a_holiday_ends_at_its_midnight_and_an_early_close_ends_early(branch: Branch) -> None:
    """The day's end follows the schedule: closed all day (nothing to serve) and an eve's early close."""
    from server.domain.schedule import ScheduleException

    eve, holiday = date(2026, 9, 30), date(2026, 10, 1)
    hall = replace(with_hours(branch, "09:00-21:00"), exceptions=(
        ScheduleException(eve, eve, DayHours.parse("09:00-17:00")),
        ScheduleException(holiday, holiday, DayHours.parse("closed"))))
    assert day_ends_at(hall, eve, HOUR) == datetime(2026, 9, 30, 18, 0, tzinfo=SHANGHAI)
    assert day_ends_at(hall, holiday, HOUR) == datetime(2026, 10, 2, 0, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("text", ["20:61", "8:30", "24:00", "soon", "", "20:30:00"])
def test_a_last_ticket_time_is_auto_or_a_time_of_day(text: str) -> None:
    from server.domain.issuing import LastTicket
    from server.domain.values import InvalidValue

    with pytest.raises(InvalidValue, match="last_ticket"):
        LastTicket.parse(text)


def test_a_fixed_last_ticket_is_never_after_the_close() -> None:
    from server.domain.issuing import LastTicket

    close = datetime(2026, 11, 24, 21, 0, tzinfo=SHANGHAI).astimezone(UTC)
    rule = LastTicket.parse("20:30")
    assert rule.until(close, SHANGHAI, wait_high=None, service_time=HOUR) == close - timedelta(minutes=30)
    assert LastTicket.parse("21:30").until(close, SHANGHAI, wait_high=None, service_time=HOUR) == close
    midnight = datetime(2026, 11, 25, 0, 0, tzinfo=SHANGHAI).astimezone(UTC)  # a 24:00 close: the same evening
    assert rule.until(midnight, SHANGHAI, wait_high=None, service_time=HOUR) == datetime(
        2026, 11, 24, 20, 30, tzinfo=SHANGHAI)
    assert str(rule) == "20:30" and str(LastTicket.parse("auto")) == "auto"
