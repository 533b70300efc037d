"""The roster's rules (server/domain/roster.py): what an entry may be among the day's others, the counters the
staffing advice plans from a day, and the counters rostered to open or close within a horizon."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.roster import (
    DAY_MINUTES,
    HOUR_SHARE,
    CounterChangeKind,
    DayRoster,
    EntryKind,
    RosterRefused,
    Shift,
    check_shift,
    copy_days,
    counter_changes,
    local_instant,
    parse_clock,
    shift_window,
)
from server.domain.schedule import DayHours
from tests.support import demo_config

_TMP = Path(tempfile.mkdtemp())
BRANCH = demo_config(f"sqlite:///{_TMP / 'unused.sqlite3'}", _TMP).branch("SZ-FUTIAN")
PEOPLE = ("zhang.wei", "li.na", "wang.fang")
COUNTERS = {c.number: c.services for c in BRANCH.counters}
WINDOW = (9 * 60, 22 * 60)
DAY = date(2026, 12, 8)

quarters = st.integers(min_value=0, max_value=DAY_MINUTES // 15).map(lambda q: q * 15)


@st.composite
def entries(draw: st.DrawFn) -> Shift:
    start, end = sorted(draw(st.lists(quarters, min_size=2, max_size=2)))
    kind = draw(st.sampled_from(list(EntryKind)))
    person = draw(st.sampled_from(PEOPLE))
    if kind == EntryKind.BREAK:
        return Shift(person, start, end, kind)
    counter = draw(st.sampled_from(sorted(COUNTERS)))
    services = draw(st.lists(st.sampled_from(["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE", "VIP"]), unique=True,
                             max_size=2))
    return Shift(person, start, end, kind, counter, tuple(services))


def oracle_allows(shift: Shift, accepted: list[Shift]) -> bool:
    """What the rules say, written out plainly."""
    if not (WINDOW[0] <= shift.start < shift.end <= WINDOW[1]):
        return False
    if shift.kind == EntryKind.WORK and not set(shift.services) <= set(COUNTERS[shift.counter or ""]):
        return False
    for other in accepted:
        together = max(shift.start, other.start) < min(shift.end, other.end)
        if together and other.username == shift.username:
            return False
        if together and shift.kind == other.kind == EntryKind.WORK and other.counter == shift.counter:
            return False
    return True


def valid_day(candidates: list[Shift]) -> list[Shift]:
    """The candidates the rules take, in turn, on a day open around the clock."""
    day: list[Shift] = []
    for candidate in candidates:
        with contextlib.suppress(RosterRefused):
            day.append(check_shift(candidate, branch=BRANCH, window=(0, DAY_MINUTES), people=PEOPLE, others=day))
    return day


@given(st.lists(entries(), max_size=25))
@settings(max_examples=300, deadline=None)
def test_a_day_built_entry_by_entry_keeps_every_rule(candidates: list[Shift]) -> None:
    accepted: list[Shift] = []
    for candidate in candidates:
        allowed = oracle_allows(candidate, accepted)
        try:
            checked = check_shift(candidate, branch=BRANCH, window=WINDOW, people=PEOPLE, others=accepted)
        except RosterRefused as refused:
            assert not allowed, refused.message
            assert refused.http_status in (400, 409) and refused.details["field"]
            continue
        assert allowed
        if candidate.kind == EntryKind.WORK:
            assert checked.services == (candidate.services or COUNTERS[candidate.counter or ""])
        accepted.append(checked)
    for i, one in enumerate(accepted):
        for other in accepted[i + 1:]:
            assert not (one.username == other.username and one.overlaps(other))
            assert not (one.kind == other.kind == EntryKind.WORK and one.counter == other.counter
                        and one.overlaps(other))


@given(st.lists(entries(), max_size=20), st.integers(min_value=0, max_value=23))
@settings(max_examples=200, deadline=None)
def test_a_counter_is_planned_in_an_hour_it_is_rostered_for_at_least_half_of(candidates: list[Shift],
                                                                             hour: int) -> None:
    day = valid_day(candidates)
    planned = DayRoster(tuple(day)).planned(hour)
    for number in COUNTERS:
        covered = sum(s.minutes_within(hour * 60, hour * 60 + 60) for s in day
                      if s.kind == EntryKind.WORK and s.counter == number)
        assert (number in planned) == (covered >= HOUR_SHARE)
        if number in planned:
            assert set(planned[number]) <= set(COUNTERS[number])


@pytest.mark.parametrize(("shift", "field", "code"), [
    (Shift("nobody", 600, 660, EntryKind.WORK, "1"), "username", "bad_shift"),
    (Shift("li.na", 600, 600, EntryKind.WORK, "1"), "end", "bad_shift"),
    (Shift("li.na", 610, 660, EntryKind.WORK, "1"), "start", "bad_shift"),
    (Shift("li.na", 480, 660, EntryKind.WORK, "1"), "start", "bad_shift"),
    (Shift("li.na", 600, 23 * 60, EntryKind.WORK, "1"), "end", "bad_shift"),
    (Shift("li.na", 600, 660, EntryKind.WORK, None), "counter", "bad_shift"),
    (Shift("li.na", 600, 660, EntryKind.WORK, "99"), "counter", "bad_shift"),
    (Shift("li.na", 600, 660, EntryKind.WORK, "1", ("VIP",)), "services", "bad_shift"),
    (Shift("li.na", 600, 660, EntryKind.BREAK, "1"), "counter", "bad_shift"),
    (Shift("zhang.wei", 630, 690, EntryKind.BREAK), "start", "shift_clash"),
    (Shift("li.na", 630, 690, EntryKind.WORK, "2"), "counter", "shift_clash"),
])
def test_each_refusal_names_its_field(shift: Shift, field: str, code: str) -> None:
    others = [Shift("zhang.wei", 600, 720, EntryKind.WORK, "2", ("BILL",), id=1)]
    with pytest.raises(RosterRefused) as refused:
        check_shift(shift, branch=BRANCH, window=WINDOW, people=PEOPLE, others=others)
    assert refused.value.details["field"] == field and refused.value.code == code


def test_an_edited_entry_does_not_clash_with_itself_and_a_closed_day_takes_no_one() -> None:
    mine = Shift("zhang.wei", 600, 720, EntryKind.WORK, "2", ("BILL",), id=1)
    moved = check_shift(Shift("zhang.wei", 660, 780, EntryKind.WORK, "2", (), id=1), branch=BRANCH, window=WINDOW,
                        people=PEOPLE, others=[mine])
    assert moved.services == ("BILL", "PLAN")  # the counter's own, in its order
    with pytest.raises(RosterRefused) as closed:
        check_shift(mine, branch=BRANCH, window=None, people=PEOPLE, others=[])
    assert closed.value.code == "branch_closed"


def test_the_window_runs_from_the_first_opening_to_the_end_of_the_service_day() -> None:
    lunch = DayHours.parse("09:00-12:00, 13:30-18:00")
    assert shift_window(lunch, timedelta(hours=1)) == (540, 19 * 60)
    assert shift_window(DayHours.parse("10:00-23:30"), timedelta(hours=1)) == (600, DAY_MINUTES)
    assert shift_window(DayHours.parse("closed"), timedelta(hours=1)) is None


@pytest.mark.parametrize("text", ["9", "09:1", "25:00", "24:15", "09:60", "09:10", "ab:cd", "-1:00"])
def test_times_are_quarter_hours_written_hh_mm(text: str) -> None:
    with pytest.raises(RosterRefused) as refused:
        parse_clock(text, "start")
    assert refused.value.details["field"] == "start"
    assert parse_clock("9:15", "start") == 555 and parse_clock("24:00", "end") == DAY_MINUTES


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), st.integers(min_value=1, max_value=8),
       st.lists(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), max_size=5))
def test_copying_to_next_weeks_lands_on_the_same_weekday(source: date, weeks: int, days: list[date]) -> None:
    wanted = copy_days(source, days=days, weeks=weeks)
    assert source not in wanted and wanted == sorted(set(wanted))
    assert {source + timedelta(weeks=w) for w in range(1, weeks + 1)} <= set(wanted)
    assert set(wanted) - set(days) == {d for d in wanted if d.weekday() == source.weekday() and d > source
                                       and d not in days}
    with pytest.raises(RosterRefused):
        copy_days(source)


# --- counters rostered to open or close (for the live estimator) ----------------------------------------------

def at(minutes: int, day: date = DAY) -> datetime:
    return local_instant(BRANCH.timezone, day, minutes)


def test_counters_opening_and_closing_within_the_horizon() -> None:
    day = [Shift("zhang.wei", 540, 720, EntryKind.WORK, "2", ("BILL",)),
           Shift("li.na", 720, 1080, EntryKind.WORK, "2", ("BILL",)),  # a handover, same services: stays open
           Shift("wang.fang", 600, 780, EntryKind.WORK, "3", ("PLAN",)),
           Shift("zhang.wei", 780, 1080, EntryKind.WORK, "3", ("SIM",)),  # other services: closes and opens
           Shift("wang.fang", 780, 840, EntryKind.BREAK)]
    changes = counter_changes(BRANCH, {DAY: day}, at(590), timedelta(hours=4))
    assert [(c.at, c.counter, c.kind, c.services) for c in changes] == [
        (at(600), "3", CounterChangeKind.OPEN, ("PLAN",)),
        (at(780), "3", CounterChangeKind.CLOSE, ("PLAN",)),
        (at(780), "3", CounterChangeKind.OPEN, ("SIM",)),
    ]
    assert counter_changes(BRANCH, {DAY: day}, at(600), timedelta(minutes=30)) == []  # the moment itself is past
    late = counter_changes(BRANCH, {DAY: day}, at(1000), timedelta(hours=2))
    assert {(c.counter, c.kind) for c in late} == {("2", CounterChangeKind.CLOSE), ("3", CounterChangeKind.CLOSE)}
    assert all(c.at == at(1080) for c in late)


def test_a_shift_until_midnight_closes_at_the_next_days_start() -> None:
    day = [Shift("zhang.wei", 1200, DAY_MINUTES, EntryKind.WORK, "1", ("BILL",))]
    changes = counter_changes(BRANCH, {DAY: day}, at(1380), timedelta(hours=2))
    assert [(c.at, c.kind) for c in changes] == [(at(0, DAY + timedelta(days=1)), CounterChangeKind.CLOSE)]
    assert changes[0].at == datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # Shanghai midnight


@given(st.lists(entries(), max_size=20), quarters, st.integers(min_value=0, max_value=DAY_MINUTES))
@settings(max_examples=200, deadline=None)
def test_changes_alternate_per_counter_and_stay_within_the_horizon(candidates: list[Shift], start: int,
                                                                  horizon_min: int) -> None:
    day = valid_day(candidates)
    whole = counter_changes(BRANCH, {DAY: day}, at(0) - timedelta(minutes=1), timedelta(days=2))
    for number in COUNTERS:
        kinds = [c.kind for c in whole if c.counter == number]
        assert kinds == [CounterChangeKind.OPEN, CounterChangeKind.CLOSE] * (len(kinds) // 2)
    moment, horizon = at(start), timedelta(minutes=horizon_min)
    window = counter_changes(BRANCH, {DAY: day}, moment, horizon)
    assert window == [c for c in whole if moment < c.at <= moment + horizon]
