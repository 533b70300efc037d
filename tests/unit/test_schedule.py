"""Opening schedules on their own: a day's ranges, weekly hours, dated exceptions, a service within its branch,
and the instants screens and refusals show (next opening, end of an opening, the day's close), across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.errors import DomainError
from server.domain.schedule import (
    ALL_DAY,
    FOLLOWS_BRANCH,
    DayHours,
    Hours,
    Schedule,
    ScheduleException,
    ServiceClosed,
    WeeklyHours,
)
from server.domain.values import InvalidValue, Text

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")  # 2026: summer time from Sun 29 Mar 01:00 UTC to Sun 25 Oct 01:00 UTC
NEW_YORK = ZoneInfo("America/New_York")  # 2026: summer time from Sun 8 Mar 07:00 UTC
NATIONAL_DAY = Text("国庆节", "National Day")


def refusal(make: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(InvalidValue) as info:
        make(*args, **kwargs)
    return info.value.field, info.value.problem


def day(text: str) -> DayHours:
    return DayHours.parse(text)


def week(default: str | None, **by_day: str) -> WeeklyHours:
    return WeeklyHours.of(None if default is None else day(default), {d: day(h) for d, h in by_day.items()})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def at(zone: ZoneInfo, text: str) -> datetime:
    """A wall-clock reading in ``zone`` (unambiguous ones only) as an instant."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def schedule(zone: ZoneInfo = SHANGHAI, hours: str = "09:00-21:00", *, services: dict[str, WeeklyHours] | None = None,
             exceptions: tuple[ScheduleException, ...] = (), **by_day: str) -> Schedule:
    return Schedule(zone, week(hours, **by_day), services or {}, exceptions)


# --- a day's hours -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ranges", "shown"), [
    ("closed", (), "closed"),
    ("09:00-21:00", ((9, 0, 21, 0),), "09:00-21:00"),
    ("09:00-12:00, 13:30-17:00", ((9, 0, 12, 0), (13, 30, 17, 0)), "09:00-12:00, 13:30-17:00"),
    ("13:30-17:00,09:00-12:00", ((9, 0, 12, 0), (13, 30, 17, 0)), "09:00-12:00, 13:30-17:00"),
    ("00:00-06:00, 22:00-24:00", ((0, 0, 6, 0), (22, 0, 24, 0)), "00:00-06:00, 22:00-24:00"),
])
def test_a_day_is_ranges_in_order_or_closed(text: str, ranges: tuple[tuple[int, ...], ...], shown: str) -> None:
    hours = DayHours.parse(text)
    assert [r.minutes for r in hours.ranges] == [(oh * 60 + om, ch * 60 + cm) for oh, om, ch, cm in ranges]
    assert str(hours) == shown
    assert hours.closed is (ranges == ())


@pytest.mark.parametrize(("text", "problem"), [
    ("09:00-13:00, 12:00-17:00", "ranges must not overlap or meet: 09:00-13:00 and 12:00-17:00"),
    ("09:00-12:00, 12:00-17:00", "ranges must not overlap or meet: 09:00-12:00 and 12:00-17:00"),
    ("09:00-17:00, 10:00-11:00", "ranges must not overlap or meet: 09:00-17:00 and 10:00-11:00"),
    ("17:00-09:00", "closing time must be after opening time in '17:00-09:00'"),
    ("09:00-12:00, 14:00-13:00", "closing time must be after opening time in '14:00-13:00'"),
    ("09:00-12:00,", "must be \"closed\" or ranges like \"09:00-12:00, 13:30-17:00\", got '09:00-12:00,'"),
    ("", "must be \"closed\" or ranges like \"09:00-12:00, 13:30-17:00\", got ''"),
    ("Closed", "must look like \"09:00-18:00\", got 'Closed'"),
    ("9-17", "must look like \"09:00-18:00\", got '9-17'"),
])
def test_overlapping_inverted_or_malformed_ranges_are_refused_naming_the_field(text: str, problem: str) -> None:
    assert refusal(DayHours.parse, text, "hours_by_day.sat") == ("hours_by_day.sat", problem)


def test_ranges_made_directly_must_be_in_order() -> None:
    assert refusal(DayHours, (Hours(time(13, 0), time(14, 0)), Hours(time(9, 0), time(10, 0))))[0] == "hours"


def test_intersection_of_two_days() -> None:
    assert day("09:00-21:00").intersect(day("10:00-12:00, 13:30-24:00")) == day("10:00-12:00, 13:30-21:00")
    assert day("09:00-12:00").intersect(day("12:00-18:00")) == day("closed")
    assert day("closed").intersect(ALL_DAY) == day("closed")
    assert ALL_DAY.intersect(day("08:00-24:00")) == day("08:00-24:00")


ranges_text = st.lists(st.integers(min_value=0, max_value=48).map(lambda half_hours: half_hours * 30),
                       min_size=0, max_size=6, unique=True).map(sorted).map(
    lambda points: [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)])


def day_of(pairs: list[tuple[int, int]]) -> DayHours:
    return DayHours(tuple(Hours.of_minutes(start, end) for start, end in pairs))


@given(ranges_text)
def test_any_day_prints_as_text_that_parses_back(pairs: list[tuple[int, int]]) -> None:
    hours = day_of(pairs)
    assert DayHours.parse(str(hours)) == hours


@given(ranges_text, ranges_text, st.integers(min_value=0, max_value=24 * 60 - 1))
def test_an_intersection_is_open_exactly_when_both_are(a: list[tuple[int, int]], b: list[tuple[int, int]],
                                                       minute: int) -> None:
    first, second = day_of(a), day_of(b)
    moment = time(minute // 60, minute % 60)
    assert first.intersect(second).is_open(moment) == (first.is_open(moment) and second.is_open(moment))


# --- weekly hours and exceptions --------------------------------------------------------------------------


def test_weekly_hours_default_and_weekday_overrides() -> None:
    weekly = week("09:00-21:00", sat="10:00-18:00", sun="closed")
    assert [str(weekly.on(d)) for d in range(7)] == ["09:00-21:00"] * 5 + ["10:00-18:00", "closed"]
    assert {d: str(h) for d, h in weekly.by_day().items()} == {"sat": "10:00-18:00", "sun": "closed"}
    assert FOLLOWS_BRANCH.on(5) is None
    assert refusal(WeeklyHours.of, ALL_DAY, {"saturday": ALL_DAY}) == (
        "hours_by_day", "unknown day 'saturday' (days: mon, tue, wed, thu, fri, sat, sun)")


def test_an_exception_checks_its_own_fields() -> None:
    assert refusal(ScheduleException, date(2026, 10, 7), date(2026, 10, 1), day("closed")) == (
        "until", "must not be before the date 2026-10-07, got 2026-10-01")
    assert refusal(ScheduleException, date(2026, 10, 1), date(2026, 10, 1), day("closed"), None,
                   ("VIP", "VIP")) == ("services", "a service is listed twice")
    assert refusal(ScheduleException, date(2026, 10, 1), date(2026, 10, 1), day("closed"),
                   Text("国庆节", " ")) == ("name.en", "must not be empty")


def test_a_schedule_refuses_unknown_services_overlapping_exceptions_and_a_branch_without_hours() -> None:
    holiday = ScheduleException(date(2026, 10, 1), date(2026, 10, 7), day("closed"), NATIONAL_DAY)
    for_vip = ScheduleException(date(2026, 10, 1), date(2026, 10, 1), day("closed"), services=("VIP", "NOPE"))
    assert refusal(schedule, services={"VIP": FOLLOWS_BRANCH}, exceptions=(holiday, for_vip)) == (
        "exceptions[1].services", "unknown service 'NOPE'")
    eve = ScheduleException(date(2026, 9, 30), date(2026, 10, 1), day("09:00-16:00"))
    assert refusal(schedule, exceptions=(holiday, eve)) == (
        "exceptions[1]", "2026-09-30..2026-10-01 overlaps exceptions[0] (2026-10-01..2026-10-07)")
    vip_a = ScheduleException(date(2026, 10, 1), date(2026, 10, 2), day("closed"), services=("VIP",))
    vip_b = ScheduleException(date(2026, 10, 2), date(2026, 10, 2), day("10:00-12:00"), services=("BILL", "VIP"))
    assert refusal(schedule, services={"VIP": FOLLOWS_BRANCH, "BILL": FOLLOWS_BRANCH},
                   exceptions=(vip_a, vip_b))[0] == "exceptions[1]"
    # a branch-wide exception and a service's own on the same date are fine: the service's stays within it
    schedule(services={"VIP": FOLLOWS_BRANCH}, exceptions=(holiday, vip_a))
    assert refusal(Schedule, SHANGHAI, FOLLOWS_BRANCH, {}) == (
        "hours", 'a branch needs hours for every day ("closed" is allowed)')


# --- a service's hours on a date --------------------------------------------------------------------------

TUESDAY, SATURDAY, SUNDAY = date(2026, 11, 24), date(2026, 11, 28), date(2026, 11, 29)


def hall() -> Schedule:
    """Like the demo: the hall 09:00-21:00 (Sundays 10:00-18:00); DEVICE from 10:00; VIP with a lunch break and
    closed on Sundays; BILL as the hall. National Day closes VIP; New Year's Eve closes the hall at 16:00."""
    return schedule(
        sun="10:00-18:00",
        services={"BILL": FOLLOWS_BRANCH, "DEVICE": week("10:00-21:00"),
                  "VIP": week("09:00-12:00, 13:30-18:00", sun="closed")},
        exceptions=(
            ScheduleException(date(2026, 10, 1), date(2026, 10, 7), day("closed"), NATIONAL_DAY, ("VIP",)),
            ScheduleException(date(2026, 12, 31), date(2026, 12, 31), day("09:00-16:00"),
                              Text("元旦前夕", "New Year's Eve")),
            ScheduleException(date(2027, 1, 1), date(2027, 1, 1), day("closed"), Text("元旦", "New Year's Day")),
            ScheduleException(date(2027, 1, 2), date(2027, 1, 2), day("08:00-22:00"), services=("DEVICE",)),
        ))


@pytest.mark.parametrize(("service", "on", "hours"), [
    (None, TUESDAY, "09:00-21:00"),
    (None, SUNDAY, "10:00-18:00"),
    ("BILL", SUNDAY, "10:00-18:00"),  # follows the branch, its weekdays included
    ("DEVICE", TUESDAY, "10:00-21:00"),
    ("DEVICE", SUNDAY, "10:00-18:00"),  # its own hours, within the branch's Sunday
    ("VIP", TUESDAY, "09:00-12:00, 13:30-18:00"),
    ("VIP", SUNDAY, "closed"),
    ("VIP", date(2026, 10, 2), "closed"),  # its own exception
    ("BILL", date(2026, 10, 2), "09:00-21:00"),  # not named by it
    ("BILL", date(2026, 12, 31), "09:00-16:00"),  # the branch's early close
    ("VIP", date(2026, 12, 31), "09:00-12:00, 13:30-16:00"),
    ("DEVICE", date(2027, 1, 1), "closed"),  # the branch's holiday closes every service
    ("DEVICE", date(2027, 1, 2), "09:00-21:00"),  # its own special hours, never outside the branch's
])
def test_a_services_hours_are_its_own_within_the_branchs(service: str | None, on: date, hours: str) -> None:
    assert str(hall().hours_on(on, service)) == hours


def test_the_usual_week_of_a_service_is_within_the_branchs() -> None:
    assert {d: str(h) for d, h in hall().weekly("DEVICE").by_day().items()} == {"sun": "10:00-18:00"}
    assert str(hall().weekly("DEVICE").default) == "10:00-21:00"
    assert {d: str(h) for d, h in hall().weekly("VIP").by_day().items()} == {"sun": "closed"}
    assert hall().weekly("BILL") == hall().weekly()


# --- instants ------------------------------------------------------------------------------------------------


def test_open_next_opening_and_close_around_a_lunch_break() -> None:
    vip = hall()
    at_noon = at(SHANGHAI, "2026-11-24 12:10")
    assert not vip.is_open(at_noon, "VIP") and vip.is_open(at_noon, "BILL")
    assert vip.next_opening(at_noon, "VIP") == at(SHANGHAI, "2026-11-24 13:30")
    assert vip.open_until(at(SHANGHAI, "2026-11-24 11:00"), "VIP") == at(SHANGHAI, "2026-11-24 12:00")
    assert vip.open_until(at_noon, "VIP") is None
    assert vip.closes_at(TUESDAY, "VIP") == at(SHANGHAI, "2026-11-24 18:00")
    assert vip.is_open(at(SHANGHAI, "2026-11-24 17:59"), "VIP")
    assert not vip.is_open(at(SHANGHAI, "2026-11-24 18:00"), "VIP")  # closing time is exclusive
    # after Saturday's close: Sunday is closed for VIP, so Monday morning
    assert vip.next_opening(at(SHANGHAI, "2026-11-28 19:00"), "VIP") == at(SHANGHAI, "2026-11-30 09:00")


def test_the_status_a_screen_shows() -> None:
    status = hall().status(at(SHANGHAI, "2026-10-02 10:00"), "VIP")
    assert not status.open and status.closed_for == NATIONAL_DAY
    assert status.opens_at == at(SHANGHAI, "2026-10-08 09:00")
    assert (status.open_until, status.closes_at, str(status.today)) == (None, None, "closed")
    open_now = hall().status(at(SHANGHAI, "2026-12-31 10:00"), "BILL")
    assert open_now.open and open_now.opens_at is None and open_now.closed_for is None  # early close: no name
    assert open_now.open_until == open_now.closes_at == at(SHANGHAI, "2026-12-31 16:00")
    holiday = hall().status(at(SHANGHAI, "2027-01-01 10:00"), "BILL")
    assert holiday.closed_for == Text("元旦", "New Year's Day")
    assert holiday.opens_at == at(SHANGHAI, "2027-01-02 09:00")


def test_a_refusal_says_when_it_opens_next() -> None:
    with pytest.raises(ServiceClosed) as info:
        hall().require_open("VIP", "Business & VIP", at(SHANGHAI, "2026-11-24 12:10"))
    assert isinstance(info.value, DomainError) and info.value.code == "service_closed"
    assert info.value.details == {"hours": "09:00-12:00, 13:30-18:00", "opens_at": "2026-11-24T05:30:00+00:00",
                                  "closed_for": None}
    hall().require_open("VIP", "Business & VIP", at(SHANGHAI, "2026-11-24 13:30"))


def test_a_naive_datetime_is_refused() -> None:
    for query in (hall().is_open, hall().next_opening, hall().open_until, hall().status):
        with pytest.raises(ValueError, match="aware"):
            query(datetime(2026, 11, 24, 10, 0))


def test_never_opening_within_the_horizon_is_none() -> None:
    closed = schedule(hours="closed", exceptions=(
        ScheduleException(date(2028, 1, 3), date(2028, 1, 3), day("09:00-10:00")),))
    now = at(SHANGHAI, "2026-11-24 10:00")
    assert closed.next_opening(now) is None
    assert closed.next_opening(now, horizon_days=800) == at(SHANGHAI, "2028-01-03 09:00")
    assert closed.closes_at(TUESDAY) is None
    assert closed.status(now).opens_at is None


def test_open_all_day_every_day_stays_open_beyond_the_horizon() -> None:
    always = schedule(hours="00:00-24:00")
    now = at(SHANGHAI, "2026-11-24 10:00")
    assert always.open_until(now) is None
    assert always.closes_at(TUESDAY) == at(SHANGHAI, "2026-11-25 00:00")
    weekdays = schedule(hours="00:00-24:00", sat="closed", sun="closed")
    assert weekdays.open_until(now) == at(SHANGHAI, "2026-11-28 00:00")  # across midnights to Saturday


# --- daylight saving time ---------------------------------------------------------------------------------


def test_hours_on_the_days_the_clocks_change() -> None:
    london = schedule(LONDON, "09:00-17:00")
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert london.next_opening(utc("2026-03-29 00:00")) == utc("2026-03-29 08:00")  # 09:00 BST
    assert london.closes_at(spring) == utc("2026-03-29 16:00")
    assert london.next_opening(utc("2026-10-25 00:00")) == utc("2026-10-25 09:00")  # 09:00 GMT
    assert london.closes_at(autumn) == utc("2026-10-25 17:00")
    assert london.closes_at(date(2026, 10, 24)) == utc("2026-10-24 16:00")  # still summer time


def test_an_opening_inside_the_skipped_hour_is_when_the_clock_jumps_past_it() -> None:
    london = schedule(LONDON, "01:30-03:00")  # 29 Mar 2026: 01:00 GMT jumps to 02:00 BST at 01:00 UTC
    opens = london.next_opening(utc("2026-03-29 00:10"))
    assert opens == utc("2026-03-29 01:00")
    assert london.is_open(opens) and not london.is_open(opens - timedelta(seconds=1))
    assert london.closes_at(date(2026, 3, 29)) == utc("2026-03-29 02:00")  # 03:00 BST
    early = schedule(LONDON, "00:00-01:30")  # its closing time is skipped: it closes at the jump
    assert early.closes_at(date(2026, 3, 29)) == utc("2026-03-29 01:00")
    assert early.open_until(utc("2026-03-29 00:30")) == utc("2026-03-29 01:00")
    new_york = schedule(NEW_YORK, "02:30-04:00")  # 8 Mar 2026: 02:00 EST jumps to 03:00 EDT at 07:00 UTC
    assert new_york.next_opening(utc("2026-03-08 05:00")) == utc("2026-03-08 07:00")


def test_an_hour_shown_twice_opens_twice() -> None:
    london = schedule(LONDON, "01:00-01:30")  # 25 Oct 2026: 02:00 BST goes back to 01:00 GMT at 01:00 UTC
    assert london.next_opening(utc("2026-10-24 23:30")) == utc("2026-10-25 00:00")  # 01:00 BST
    assert london.open_until(utc("2026-10-25 00:10")) == utc("2026-10-25 00:30")
    assert london.next_opening(utc("2026-10-25 00:40")) == utc("2026-10-25 01:00")  # 01:00 GMT, again
    assert london.closes_at(date(2026, 10, 25)) == utc("2026-10-25 01:30")  # its second 01:30


def test_the_last_minute_before_midnight() -> None:
    late = schedule(LONDON, "09:00-24:00", sun="closed")
    assert late.is_open(utc("2026-10-24 22:59"))  # 23:59 BST on Saturday
    assert not late.is_open(utc("2026-10-24 23:00"))  # Sunday 00:00 BST: closed
    assert late.closes_at(date(2026, 10, 24)) == utc("2026-10-24 23:00")  # the next local midnight
    assert late.open_until(utc("2026-10-24 20:00")) == utc("2026-10-24 23:00")
    assert late.closes_at(date(2026, 3, 28)) == utc("2026-03-29 00:00")  # midnight GMT before the change
    sao_paulo = schedule(ZoneInfo("America/Sao_Paulo"), "09:00-24:00")  # 4 Nov 2018: midnight was skipped
    assert sao_paulo.closes_at(date(2018, 11, 3)) == utc("2018-11-04 03:00")
    assert sao_paulo.instant(date(2018, 11, 4), time(0, 0)) == utc("2018-11-04 03:00")


# --- properties ---------------------------------------------------------------------------------------------

week_of_days = st.lists(ranges_text, min_size=8, max_size=8)
dst_instants = st.sampled_from(["2026-03-28 12:00", "2026-10-24 12:00", "2026-03-29 00:00",
                                "2026-10-25 00:00"]).flatmap(
    lambda start: st.integers(min_value=0, max_value=3 * 24 * 60 * 60).map(
        lambda seconds: utc(start) + timedelta(seconds=seconds)))
MINUTE = timedelta(minutes=1)
SCAN = timedelta(days=3)


def london_hall(days: list[list[tuple[int, int]]], exception: list[tuple[int, int]]) -> Schedule:
    branch = WeeklyHours(day_of(days[0]), tuple(day_of(d) if i % 2 else None for i, d in enumerate(days[1:])))
    service = WeeklyHours(day_of(days[7]))
    holiday = ScheduleException(date(2026, 3, 29), date(2026, 3, 29), day_of(exception), services=("S",))
    return Schedule(LONDON, branch, {"S": service}, (holiday,))


def scan(schedule: Schedule, service: str | None, start: datetime, *, to_open: bool) -> datetime | None:
    """The first whole minute after ``start`` at which it opens (or closes), minute by minute, within SCAN.
    In London every boundary and every clock change falls on a whole minute."""
    minute = start.replace(second=0, microsecond=0) + MINUTE
    while minute <= start + SCAN:
        if (schedule.is_open(minute, service) == to_open
                and schedule.is_open(minute - MINUTE, service) != to_open):
            return minute
        minute += MINUTE
    return None


@settings(max_examples=60, deadline=None)
@given(week_of_days, ranges_text, dst_instants, st.sampled_from([None, "S"]))
def test_the_next_opening_is_the_first_instant_it_turns_open(
        days: list[list[tuple[int, int]]], exception: list[tuple[int, int]], now: datetime,
        service: str | None) -> None:
    hall = london_hall(days, exception)
    opens = hall.next_opening(now, service)
    expected = scan(hall, service, now, to_open=True)
    if expected is not None:
        assert opens == expected
    else:
        assert opens is None or opens > now + SCAN - MINUTE
    if hall.is_open(now, service):
        closes = hall.open_until(now, service)
        expected_close = scan(hall, service, now, to_open=False)
        if expected_close is not None:
            assert closes == expected_close
        else:
            assert closes is None or closes > now + SCAN - MINUTE


@settings(max_examples=60, deadline=None)
@given(week_of_days, ranges_text, dst_instants)
def test_a_service_is_never_open_when_its_branch_is_closed(
        days: list[list[tuple[int, int]]], exception: list[tuple[int, int]], now: datetime) -> None:
    hall = london_hall(days, exception)
    for step in range(0, 3 * 24 * 60, 37):
        moment = now + timedelta(minutes=step)
        assert not hall.is_open(moment, "S") or hall.is_open(moment)
    local_day = hall.local(now).date()
    assert hall.hours_on(local_day, "S").intersect(hall.hours_on(local_day)) == hall.hours_on(local_day, "S")


@settings(max_examples=60, deadline=None)
@given(week_of_days, ranges_text, st.dates(min_value=date(2026, 3, 25), max_value=date(2026, 11, 1)))
def test_the_days_close_is_the_last_instant_of_that_date_it_is_open(
        days: list[list[tuple[int, int]]], exception: list[tuple[int, int]], on: date) -> None:
    hall = london_hall(days, exception)
    closes = hall.closes_at(on)
    if hall.hours_on(on).closed:
        assert closes is None
        return
    assert closes is not None
    assert hall.is_open(closes - timedelta(seconds=1)) and hall.local(closes - timedelta(seconds=1)).date() == on
    # nothing of that date is open after it
    moment = closes
    while hall.local(moment).date() <= on:
        assert not hall.is_open(moment) or hall.local(moment).date() != on
        moment += MINUTE


@settings(max_examples=40, deadline=None)
@given(week_of_days, ranges_text, dst_instants,
       st.lists(st.integers(min_value=-3 * 60, max_value=26 * 60), min_size=1, max_size=12),
       st.sampled_from([None, "S"]))
def test_a_kept_status_is_the_status_computed_afresh(
        days: list[list[tuple[int, int]]], exception: list[tuple[int, int]], start: datetime, steps: list[int],
        service: str | None) -> None:
    """The status is kept until the next opening, closing or local midnight: asking again at any later (or
    earlier) instant gives what a schedule that never answered before gives."""
    kept = london_hall(days, exception)
    for minutes in steps:
        moment = start + timedelta(minutes=minutes)
        assert kept.status(moment, service) == london_hall(days, exception).status(moment, service)
