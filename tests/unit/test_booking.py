"""The booking rules (server/domain/booking.py): slots, seats, the per-phone rules, the cut-off and codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.booking import (
    CODE_ALPHABET,
    SLOT_MINUTES,
    BookingFacts,
    BookingRefused,
    BookingState,
    BranchBooking,
    CheckinOutcome,
    HeldBooking,
    LatePolicy,
    Location,
    ServiceBooking,
    Slot,
    check_may_change,
    check_new_booking,
    day_booking_counts,
    day_slots,
    decide_checkin,
    display_code,
    free_seat,
    is_no_show,
    new_code,
    normalise_code,
)
from server.domain.errors import DomainError
from server.domain.schedule import DayHours, Schedule, ScheduleException, WeeklyHours
from server.domain.values import InvalidValue, Text

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 25)


def schedule(hours: str, exceptions: tuple[ScheduleException, ...] = ()) -> Schedule:
    return Schedule(SHANGHAI, WeeklyHours.of(DayHours.parse(hours)), {"S": WeeklyHours.of(None)}, exceptions)


@st.composite
def day_hours(draw: st.DrawFn) -> str:
    """One or two ranges on a quarter-hour grid, e.g. "09:00-12:00, 13:30-17:00"."""
    marks = sorted(draw(st.sets(st.integers(0, 96), min_size=2, max_size=4)))
    if len(marks) % 2:
        marks = marks[:-1]
    return ", ".join(f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}"
                     for a, b in zip(marks[::2], marks[1::2], strict=True))


@given(day_hours(), st.sampled_from(SLOT_MINUTES))
def test_slots_lie_within_the_hours_in_order_and_whole(hours: str, slot_min: int) -> None:
    rules = ServiceBooking(bookable=True, slot_min=slot_min, per_slot=3)
    plan = schedule(hours)
    slots = day_slots(plan, "S", DAY, rules, seats=2)
    ranges = plan.hours_on(DAY, "S").ranges
    expected = sum((end - start) // slot_min for start, end in (r.minutes for r in ranges))
    assert len(slots) == expected
    for slot in slots:
        assert slot.end - slot.start == timedelta(minutes=slot_min) and slot.seats == 2
        assert plan.is_open(slot.start, "S") and plan.is_open(slot.end - timedelta(seconds=1), "S")
    assert all(a.end <= b.start for a, b in pairwise(slots))


def test_a_holiday_or_a_service_not_bookable_has_no_slots() -> None:
    holiday = ScheduleException(DAY, DAY, DayHours.parse("closed"), Text("节日", "Holiday"))
    assert day_slots(schedule("09:00-17:00", (holiday,)), "S", DAY, ServiceBooking(bookable=True), 2) == []
    assert day_slots(schedule("09:00-17:00"), "S", DAY, ServiceBooking(bookable=False), 2) == []
    assert day_slots(schedule("09:00-17:00"), "S", DAY, ServiceBooking(bookable=True), 0) == []
    lunch = day_slots(schedule("09:00-12:00, 13:30-17:00"), "S", DAY, ServiceBooking(bookable=True, slot_min=60), 1)
    assert [s.local for s in lunch] == [time(9), time(10), time(11), time(13, 30), time(14, 30), time(15, 30)]


@given(st.integers(0, 20), st.integers(1, 60), st.sampled_from(SLOT_MINUTES), st.integers(1, 100),
       st.floats(0, 0.95))
def test_seats_keep_the_walk_in_share_free(counters: int, service_min: int, slot_min: int, per_slot: int,
                                           share: float) -> None:
    rules = ServiceBooking(bookable=True, slot_min=slot_min, per_slot=per_slot, walk_in_share=share)
    seats = rules.seats(counters, timedelta(minutes=service_min))
    capacity = counters * slot_min / service_min
    assert 0 <= seats <= per_slot
    assert seats <= capacity * (1 - share) + 1e-6
    assert rules.seats(counters + 1, timedelta(minutes=service_min)) >= seats


def slot_at(day: date, hour: int, seats: int = 2) -> Slot:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return Slot(start, start + timedelta(minutes=30), time(hour), seats)


held_bookings = st.lists(st.builds(
    lambda n, d, h, b: HeldBooking(f"C{n:07d}", b, slot_at(DAY + timedelta(days=d), h).start,
                                   slot_at(DAY + timedelta(days=d), h).end, DAY + timedelta(days=d)),
    st.integers(0, 10**6), st.integers(-3, 10), st.integers(0, 23), st.sampled_from(["A", "B"])), max_size=6)


@given(held_bookings, st.integers(0, 10), st.integers(0, 23), st.integers(1, 4), st.integers(0, 3))
def test_an_accepted_booking_breaks_no_rule(held: list[HeldBooking], offset: int, hour: int, max_per_week: int,
                                            taken: int) -> None:
    rules = BranchBooking(horizon_days=7, change_cutoff_min=60, max_per_week=max_per_week)
    day = DAY + timedelta(days=offset)
    slot = slot_at(day, hour)
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    try:
        check_new_booking(rules, branch_code="A", slot=slot, day=day, today=DAY, now=now, held=held, taken=taken)
    except BookingRefused as refusal:
        assert refusal.code in {"outside_horizon", "overlapping_booking", "weekly_limit", "slot_full"}
        return
    assert offset <= 7 and taken < slot.seats
    assert not any(slot.overlaps(h.start, h.end) for h in held)
    same_week = [h for h in held if h.branch_code == "A" and h.day.isocalendar()[:2] == day.isocalendar()[:2]]
    assert len(same_week) < max_per_week


def test_a_change_does_not_count_the_booking_it_replaces() -> None:
    rules = BranchBooking(max_per_week=1)
    slot = slot_at(DAY, 10)
    mine = HeldBooking("MINE0000", "A", slot.start, slot.end, DAY)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    with pytest.raises(BookingRefused, match="already have a booking"):
        check_new_booking(rules, branch_code="A", slot=slot, day=DAY, today=DAY, now=now, held=[mine], taken=0)
    assert check_new_booking(rules, branch_code="A", slot=slot, day=DAY, today=DAY, now=now, held=[mine], taken=0,
                             replacing="MINE0000") == slot


@given(st.integers(0, 600), st.integers(-600, 600))
def test_the_cut_off(cutoff: int, minutes_before: int) -> None:
    rules = BranchBooking(change_cutoff_min=cutoff)
    start = datetime(2026, 11, 25, 2, tzinfo=UTC)
    now = start - timedelta(minutes=minutes_before)
    if minutes_before >= cutoff:
        check_may_change(rules, BookingState.BOOKED, start, now)
    else:
        with pytest.raises(BookingRefused) as refused:
            check_may_change(rules, BookingState.BOOKED, start, now)
        assert refused.value.code == "past_cutoff"
    with pytest.raises(BookingRefused):
        check_may_change(rules, BookingState.CANCELLED, start, start - timedelta(days=30))


@given(st.integers(0, 10), st.lists(st.integers(0, 12), max_size=12))
def test_a_free_seat_is_the_lowest_one_not_taken(seats: int, used: list[int]) -> None:
    seat = free_seat(seats, used)
    if seat is None:
        assert set(range(seats)) <= set(used)
    else:
        assert 0 <= seat < seats and seat not in used and all(n in used for n in range(seat))


@settings(max_examples=200)
@given(st.data())
def test_codes_read_back_however_they_are_typed(data: st.DataObject) -> None:
    code = new_code()
    assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
    typed = data.draw(st.sampled_from([code, code.lower(), display_code(code), f" {code[:4]} {code[4:]} "]))
    assert normalise_code(typed) == code


def test_the_alphabet_has_no_look_alikes_and_bad_codes_are_400() -> None:
    assert not set("01ILO") & set(CODE_ALPHABET) and len(set(CODE_ALPHABET)) == len(CODE_ALPHABET) == 31
    for bad in ("", "ABCD234", "ABCD23456", "ABCD-O123", "ABCD 1234"):
        with pytest.raises(DomainError) as refused:
            normalise_code(bad)
        assert refused.value.code == "bad_code" and refused.value.http_status == 400


@given(st.floats(-89, 89), st.floats(-179, 179), st.floats(-89, 89), st.floats(-179, 179))
def test_distances(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    a = Location(latitude=lat1, longitude=lon1)
    assert a.distance_km(lat1, lon1) == pytest.approx(0, abs=1e-6)
    there = a.distance_km(lat2, lon2)
    back = Location(latitude=lat2, longitude=lon2).distance_km(lat1, lon1)
    assert there is not None and back is not None and there == pytest.approx(back, abs=1e-6) and there <= 20016


def test_values_are_checked_naming_the_field() -> None:
    for make, field in ((lambda: ServiceBooking(slot_min=25), "slot_min"),
                        (lambda: ServiceBooking(per_slot=0), "per_slot"),
                        (lambda: ServiceBooking(walk_in_share=1.0), "walk_in_share"),
                        (lambda: BranchBooking(horizon_days=0), "horizon_days"),
                        (lambda: BranchBooking(max_per_week=True), "max_per_week"),
                        (lambda: BranchBooking(early_checkin_min=-1), "early_checkin_min"),
                        (lambda: BranchBooking(late_grace_min=121), "late_grace_min"),
                        (lambda: BranchBooking(late_policy="ignore"), "late_policy"),  # type: ignore[arg-type]
                        (lambda: Location(latitude=91, longitude=0), "latitude"),
                        (lambda: Location(latitude=10), "latitude")):
        with pytest.raises(InvalidValue) as refused:
            make()
        assert refused.value.field == field
    assert Location().distance_km(0, 0) is None


# --- check-in -----------------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHECKIN_DAY = date(2026, 11, 24)
SLOT_START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def hhmm(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%H:%M")


def facts(*, branch: str = "A", state: BookingState = BookingState.BOOKED, day: date = CHECKIN_DAY,
          checked_in: bool = False) -> BookingFacts:
    return BookingFacts(branch, state, day, SLOT_START, SLOT_START + timedelta(minutes=30), checked_in)


@settings(max_examples=300)
@given(st.integers(0, 240), st.integers(0, 120), st.sampled_from(list(LatePolicy)), st.integers(-300, 300))
def test_checkin_by_the_clock(early: int, grace: int, late_policy: LatePolicy, minutes: int) -> None:
    rules = BranchBooking(early_checkin_min=early, late_grace_min=grace, late_policy=late_policy)
    now = SLOT_START + timedelta(minutes=minutes)
    try:
        decision = decide_checkin(rules, facts(), branch_code="A", today=CHECKIN_DAY, now=now, local_time=hhmm)
    except BookingRefused as refused:
        if minutes < -early:
            assert refused.code == "too_early"
            come_back = SLOT_START - timedelta(minutes=early)
            assert refused.details["come_back"] == hhmm(come_back) and hhmm(come_back) in refused.reason.en
            assert hhmm(come_back) in refused.reason.zh
        else:
            assert refused.code == "too_late" and minutes > grace and late_policy is LatePolicy.REFUSE
        return
    assert minutes >= -early
    if minutes <= grace:
        assert decision.outcome is CheckinOutcome.APPOINTMENT
        # an early arrival is held until the slot starts; a later one may be called at once
        assert decision.not_before == (SLOT_START if minutes < 0 else None)
        assert decision.late == (minutes > 0)
    else:
        assert decision.outcome is CheckinOutcome.WALK_IN and late_policy is LatePolicy.WALK_IN
        assert decision.not_before is None


@given(st.integers(-600, 600))
def test_a_second_checkin_shows_the_same_ticket_at_any_time(minutes: int) -> None:
    decision = decide_checkin(BranchBooking(), facts(checked_in=True), branch_code="A", today=CHECKIN_DAY,
                              now=SLOT_START + timedelta(minutes=minutes), local_time=hhmm)
    assert decision.outcome is CheckinOutcome.ALREADY


def test_checkin_refusals_name_the_reason_in_both_languages() -> None:
    rules = BranchBooking()
    cases = ((facts(branch="B"), "other_branch"), (facts(state=BookingState.CANCELLED), "booking_cancelled"),
             (facts(state=BookingState.CANCELLED, checked_in=True), "booking_cancelled"),
             (facts(day=CHECKIN_DAY + timedelta(days=1)), "other_day"))
    for booking, code in cases:
        with pytest.raises(BookingRefused) as refused:
            decide_checkin(rules, booking, branch_code="A", today=CHECKIN_DAY, now=SLOT_START, local_time=hhmm)
        assert refused.value.code == code
        assert refused.value.reason.zh and refused.value.reason.en and refused.value.http_status == 409


@given(st.integers(0, 120), st.integers(-60, 200), st.booleans(), st.sampled_from(list(BookingState)))
def test_a_no_show_is_a_booking_never_checked_in_by_the_end_of_its_slot_and_grace(
        grace: int, minutes: int, checked_in: bool, state: BookingState) -> None:
    booking = facts(checked_in=checked_in, state=state)
    now = booking.end + timedelta(minutes=minutes)
    assert is_no_show(BranchBooking(late_grace_min=grace), booking, now) == (
        state is BookingState.BOOKED and not checked_in and minutes > grace)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["PLAN", "BILL"]), st.sampled_from(list(BookingState)), st.booleans(),
                          st.booleans(), st.integers(0, 16)), max_size=30),
       st.integers(0, 120))
def test_a_closed_days_bookings_each_end_one_way(bookings: list[tuple[str, BookingState, bool, bool, int]],
                                                grace: int) -> None:
    """Judged after the day: booked = checked in + cancelled + no-shows per service; late walk-ins are among the
    checked in; a cancelled booking is never a no-show, whatever else it holds."""
    rules = BranchBooking(late_grace_min=grace)
    day = date(2026, 11, 24)
    facts = []
    for service, state, checked_in, late, half_hour in bookings:
        start = datetime(2026, 11, 24, 1, 0, tzinfo=UTC) + timedelta(minutes=30 * half_hour)
        checked = checked_in and state is BookingState.BOOKED
        facts.append((service, BookingFacts("B", state, day, start, start + timedelta(minutes=30), checked),
                      late and checked))
    counts = day_booking_counts(rules, facts, datetime(2026, 11, 25, 18, 0, tzinfo=UTC))
    for service, row in counts.items():
        mine = [f for s, f, _ in facts if s == service]
        assert row["booked"] == len(mine)
        assert row["booked"] == row["checked_in"] + row["booking_cancelled"] + row["booking_no_shows"]
        assert 0 <= row["late_walk_ins"] <= row["checked_in"]
        assert row["booking_cancelled"] == sum(f.state is BookingState.CANCELLED for f in mine)
    assert set(counts) == {s for s, _, _ in facts}
