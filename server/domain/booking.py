"""Online appointments: the bookable slots of a service on a day, the rules a booking must pass, and booking codes.

Pure Python: no Flask, no SQL; the clock is passed in. The rules, in one place (docs/appointments.md):

* **Slots.** A bookable service's day is cut into slots of ``slot_min`` minutes from the start of each of its
  opening ranges that day (its hours within the branch's, holidays included, :mod:`server.domain.schedule`); a slot
  that would run past the end of its range is left out. A closed day has no slots.
* **Seats.** A slot offers ``per_slot`` seats, but never more than the service's counters can serve in it with
  ``walk_in_share`` of that capacity kept free for walk-in customers:
  ``floor(counters * slot_min / expected_service_min * (1 - walk_in_share))``.
* **Booking.** A slot may be booked from now until it starts, on local dates from today to ``horizon_days``
  ahead. One phone number holds no two bookings whose slots overlap (in any branch) and at most
  ``max_per_week`` bookings in one week (Monday to Sunday, the slot's local date) in the branch.
* **Change and cancel** up to ``change_cutoff_min`` before the slot starts.
* **Codes.** Eight characters from 31 that cannot be mistaken for one another (no 0/O, 1/I/L): 31^8 ≈ 8.5 × 10^11
  codes (39.6 bits), drawn with :mod:`secrets`. A booking is only ever shown for its code *and* its phone
  number, and look-ups are rate-limited per address, so guessing one is out of reach.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar

from server.domain.errors import DomainError
from server.domain.schedule import Schedule
from server.domain.values import InvalidValue, Problem, Text

T = TypeVar("T")

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
SLOT_MINUTES = (10, 15, 20, 30, 45, 60, 90, 120)
MAX_PER_SLOT = 100
MAX_HORIZON_DAYS = 90
MAX_CUTOFF_MIN = 7 * 24 * 60
MAX_PER_WEEK = 20


MAX_EARLY_CHECKIN_MIN = 240
MAX_LATE_GRACE_MIN = 120


class BookingState(StrEnum):
    """A booking's life: booked, or cancelled (by the customer or staff). A check-in does not change the state: it
    links the booking to its ticket (``ticket_id``), and the ticket's own states take over."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class LatePolicy(StrEnum):
    """What a check-in past the grace period gets: a walk-in ticket of the same service, or a refusal."""

    WALK_IN = "walk_in"
    REFUSE = "refuse"


# --- the hall model's parts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceBooking:
    """``[branches.services.booking]``: whether customers may book the service online, and its slots."""

    bookable: bool = False
    slot_min: int = 30
    per_slot: int = 2  # seats a slot offers at most (the manager's choice)
    walk_in_share: float = 0.5  # share of the counters' capacity in a slot always kept for walk-in customers

    def __post_init__(self) -> None:
        if self.slot_min not in SLOT_MINUTES:
            raise InvalidValue("slot_min", f"must be one of {', '.join(map(str, SLOT_MINUTES))}, got {self.slot_min}",
                               Problem.NOT_ONE_OF, allowed=SLOT_MINUTES, value=self.slot_min)
        if isinstance(self.per_slot, bool) or not 1 <= self.per_slot <= MAX_PER_SLOT:
            raise InvalidValue("per_slot", f"must be 1-{MAX_PER_SLOT}, got {self.per_slot}", Problem.OUT_OF_RANGE,
                               min=1, max=MAX_PER_SLOT, value=self.per_slot)
        if not 0 <= self.walk_in_share < 1:
            raise InvalidValue("walk_in_share", f"must be at least 0 and below 1, got {self.walk_in_share}",
                               Problem.OUT_OF_RANGE, min=0, max=1, max_excluded=True, value=self.walk_in_share)

    def seats(self, counters: int, expected_service: timedelta) -> int:
        """Seats per slot: ``per_slot``, within the counters' capacity less the walk-in share."""
        served = counters * self.slot_min * 60 / max(expected_service.total_seconds(), 1)
        return max(0, min(self.per_slot, math.floor(served * (1 - self.walk_in_share) + 1e-9)))


@dataclass(frozen=True)
class BranchBooking:
    """``[branches.booking]``: how far ahead, until when a booking may change, and how many per phone."""

    horizon_days: int = 14
    change_cutoff_min: int = 120
    max_per_week: int = 2
    early_checkin_min: int = 30  # how long before its slot a booking may check in at the kiosk
    late_grace_min: int = 10  # how long after its slot starts a check-in still gets an appointment ticket
    late_policy: LatePolicy = LatePolicy.WALK_IN  # a check-in later than that

    def __post_init__(self) -> None:
        for name, least, most in (("horizon_days", 1, MAX_HORIZON_DAYS), ("change_cutoff_min", 0, MAX_CUTOFF_MIN),
                                  ("max_per_week", 1, MAX_PER_WEEK), ("early_checkin_min", 0, MAX_EARLY_CHECKIN_MIN),
                                  ("late_grace_min", 0, MAX_LATE_GRACE_MIN)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                raise InvalidValue(name, f"must be a whole number from {least} to {most}, got {value!r}",
                                   Problem.OUT_OF_RANGE, min=least, max=most, value=value)
        if self.late_policy not in set(LatePolicy):
            raise InvalidValue("late_policy", f"must be one of {', '.join(LatePolicy)}, got {self.late_policy!r}",
                               Problem.NOT_ONE_OF, allowed=[policy.value for policy in LatePolicy])
        object.__setattr__(self, "late_policy", LatePolicy(self.late_policy))


@dataclass(frozen=True)
class Location:
    """Where a branch is, for "nearest first" on the booking page: a district, an address, and optionally its
    latitude and longitude (WGS 84 degrees)."""

    district: Text | None = None
    address: Text | None = None
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        if (self.latitude is None) != (self.longitude is None):
            raise InvalidValue("latitude", "give both latitude and longitude, or neither", Problem.CONFLICT)
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise InvalidValue("latitude", f"must be from -90 to 90, got {self.latitude}", Problem.OUT_OF_RANGE,
                               min=-90, max=90, value=self.latitude)
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise InvalidValue("longitude", f"must be from -180 to 180, got {self.longitude}", Problem.OUT_OF_RANGE,
                               min=-180, max=180, value=self.longitude)

    def distance_km(self, latitude: float, longitude: float) -> float | None:
        """Great-circle distance (haversine) from the given point; None when the branch has no coordinates."""
        if self.latitude is None or self.longitude is None:
            return None
        p1, p2 = math.radians(self.latitude), math.radians(latitude)
        dp, dl = p2 - p1, math.radians(longitude - self.longitude)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


# --- slots ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One bookable slot: its start and end (aware, UTC), its local start time and the seats it offers."""

    start: datetime
    end: datetime
    local: time
    seats: int

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


def day_slots(schedule: Schedule, service: str, day: date, rules: ServiceBooking, seats: int) -> list[Slot]:
    """The slots of ``service`` on local date ``day``, in order (none when it is closed or not bookable)."""
    if not rules.bookable or seats <= 0:
        return []
    slots: list[Slot] = []
    for hours in schedule.hours_on(day, service).ranges:
        first, end = hours.minutes
        minute = first
        while minute + rules.slot_min <= end:
            at = time(minute // 60, minute % 60)
            start = schedule.instant(day, at)
            stop_minute = minute + rules.slot_min
            stop = schedule.instant(day, None if stop_minute >= 24 * 60 else time(stop_minute // 60, stop_minute % 60))
            if stop > start:  # a slot the clock skips (summer time begins) is no slot
                slots.append(Slot(start, stop, at, seats))
            minute = stop_minute
    return slots


def bookable_days(today: date, rules: BranchBooking) -> list[date]:
    """The local dates a customer may book: today and the next ``horizon_days``."""
    return [today + timedelta(days=n) for n in range(rules.horizon_days + 1)]


# --- the rules a booking passes ------------------------------------------------------------------------------


class BookingRefused(DomainError):
    """A booking (or a change) refused by a rule: ``details.text`` says why in both languages."""

    http_status = 409

    def __init__(self, code: str, reason: Text, field: str | None = None, **details: object) -> None:
        extra: dict[str, object] = dict(details)
        if field is not None:
            extra["field"] = field
        super().__init__(reason.en, code=code, text=reason.as_dict(), **extra)
        self.reason = reason


OUTSIDE_HORIZON = Text("只能预约今天起 {days} 天内的时段", "Only slots in the next {days} days can be booked")
SLOT_STARTED = Text("这个时段已经开始或结束", "This slot has already started")
NO_SUCH_SLOT = Text("这个时间没有可预约的时段", "There is no bookable slot at this time")
SLOT_FULL = Text("这个时段已约满，请选择其他时段", "This slot is fully booked; please choose another")
OVERLAPPING = Text("您在这个时间已有预约", "You already have a booking at this time")
WEEKLY_LIMIT = Text("每个号码每周最多预约 {count} 次", "One phone number may book at most {count} times a week")
PAST_CUTOFF = Text("距预约时间不足 {minutes} 分钟，无法修改或取消",
                   "Less than {minutes} minutes before the slot: it can no longer be changed or cancelled")
NOT_BOOKED = Text("这个预约已取消", "This booking was cancelled")


def _fill(text: Text, **values: object) -> Text:
    return Text(text.zh.format(**values), text.en.format(**values))


@dataclass(frozen=True)
class HeldBooking:
    """A booking the phone number already holds: its slot and the local date of that slot."""

    code: str
    branch_code: str
    start: datetime
    end: datetime
    day: date


def week_of(day: date) -> tuple[int, int]:
    """The ISO year and week of a date: Monday to Sunday."""
    year, week, _ = day.isocalendar()
    return year, week


def check_new_booking(rules: BranchBooking, *, branch_code: str, slot: Slot | None, day: date, today: date,
                      now: datetime, held: Iterable[HeldBooking], taken: int, replacing: str | None = None) -> Slot:
    """The slot, when a booking of it (or a change to it, ``replacing`` that booking's code) passes every rule;
    else :class:`BookingRefused` naming the first rule it breaks, in the order a customer can act on them."""
    if not today <= day <= today + timedelta(days=rules.horizon_days):
        raise BookingRefused("outside_horizon", _fill(OUTSIDE_HORIZON, days=rules.horizon_days), "day",
                             horizon_days=rules.horizon_days)
    if slot is None:
        raise BookingRefused("no_such_slot", NO_SUCH_SLOT, "start")
    if slot.start <= now:
        raise BookingRefused("slot_started", SLOT_STARTED, "start")
    others = [h for h in held if h.code != replacing]
    if any(slot.overlaps(h.start, h.end) for h in others):
        raise BookingRefused("overlapping_booking", OVERLAPPING, "phone")
    same_week = [h for h in others if h.branch_code == branch_code and week_of(h.day) == week_of(day)]
    if len(same_week) >= rules.max_per_week:
        raise BookingRefused("weekly_limit", _fill(WEEKLY_LIMIT, count=rules.max_per_week), "phone",
                             max_per_week=rules.max_per_week)
    if taken >= slot.seats:
        raise BookingRefused("slot_full", SLOT_FULL, "start")
    return slot


def check_near_enough(rules: BranchBooking, start: datetime, now: datetime) -> None:
    """Refuses an instant nowhere near the horizon before any calendar is asked about it (a year 9999 would not
    even have a local date in a time zone east of UTC)."""
    if not now - timedelta(days=1) <= start <= now + timedelta(days=rules.horizon_days + 2):
        raise BookingRefused("outside_horizon", _fill(OUTSIDE_HORIZON, days=rules.horizon_days), "start",
                             horizon_days=rules.horizon_days)


def change_deadline(rules: BranchBooking, start: datetime) -> datetime:
    """The last instant a booking of a slot starting at ``start`` may be changed or cancelled."""
    return start - timedelta(minutes=rules.change_cutoff_min)


def check_may_change(rules: BranchBooking, state: BookingState, start: datetime, now: datetime) -> None:
    """Refuses a change or cancellation of a cancelled booking, or one past the cut-off."""
    if state is not BookingState.BOOKED:
        raise BookingRefused("booking_cancelled", NOT_BOOKED)
    if now > change_deadline(rules, start):
        raise BookingRefused("past_cutoff", _fill(PAST_CUTOFF, minutes=rules.change_cutoff_min),
                             change_cutoff_min=rules.change_cutoff_min)


# --- check-in -------------------------------------------------------------------------------------------

class CheckinOutcome(StrEnum):
    """What a check-in gives: an appointment ticket, a walk-in ticket (late past the grace period, where the branch
    says so), or the ticket the booking already has (a second check-in shows the same ticket)."""

    APPOINTMENT = "appointment"
    WALK_IN = "walk_in"
    ALREADY = "already_checked_in"


@dataclass(frozen=True)
class CheckinDecision:
    """The outcome, and for an appointment ticket taken before its slot the instant it may first be called."""

    outcome: CheckinOutcome
    not_before: datetime | None = None
    late: bool = False


@dataclass(frozen=True)
class BookingFacts:
    """What the check-in rule needs to know of one booking."""

    branch_code: str
    state: BookingState
    day: date
    start: datetime
    end: datetime
    checked_in: bool


OTHER_BRANCH = Text("这个预约不是本营业厅的，请到预约的营业厅签到",
                    "This booking is for another branch; please check in there")
OTHER_DAY = Text("这个预约是 {day} 的，今天不能签到", "This booking is for {day}; it cannot be checked in today")
TOO_EARLY = Text("签到时间未到，请在 {time} 以后再来签到", "Too early to check in: please come back at {time}")
TOO_LATE = Text("已超过预约时间 {minutes} 分钟，预约失效，请取普通号",
                "More than {minutes} minutes late: the booking has lapsed; please take a normal ticket")


def checkin_opens(rules: BranchBooking, start: datetime) -> datetime:
    """The first instant a booking of a slot starting at ``start`` may check in."""
    return start - timedelta(minutes=rules.early_checkin_min)


def grace_ends(rules: BranchBooking, start: datetime) -> datetime:
    """The last instant a check-in still gets an appointment ticket."""
    return start + timedelta(minutes=rules.late_grace_min)


def decide_checkin(rules: BranchBooking, booking: BookingFacts, *, branch_code: str, today: date, now: datetime,
                   local_time: Callable[[datetime], str]) -> CheckinDecision:
    """What checking ``booking`` in at ``branch_code`` at ``now`` gives, or :class:`BookingRefused` saying why.

    In order: another branch's booking, a cancelled one, one already checked in (the same ticket again, whatever
    the time), another day's; then by the clock: before ``early_checkin_min`` ahead of the slot, refused with the
    time to come back (``local_time`` writes an instant as the branch's HH:MM); until the slot starts an
    appointment ticket called no sooner than the slot's start; until ``late_grace_min`` after it an appointment
    ticket; later a walk-in ticket or a refusal, as ``late_policy`` says."""
    if booking.branch_code != branch_code:
        raise BookingRefused("other_branch", OTHER_BRANCH)
    if booking.state is not BookingState.BOOKED:
        raise BookingRefused("booking_cancelled", NOT_BOOKED)
    if booking.checked_in:
        return CheckinDecision(CheckinOutcome.ALREADY)
    if booking.day != today:
        raise BookingRefused("other_day", _fill(OTHER_DAY, day=booking.day.isoformat()), day=booking.day.isoformat())
    opens = checkin_opens(rules, booking.start)
    if now < opens:
        come_back = local_time(opens)
        raise BookingRefused("too_early", _fill(TOO_EARLY, time=come_back), come_back=come_back,
                             opens_at=opens.isoformat())
    if now < booking.start:
        return CheckinDecision(CheckinOutcome.APPOINTMENT, not_before=booking.start)
    if now <= grace_ends(rules, booking.start):
        return CheckinDecision(CheckinOutcome.APPOINTMENT, late=now > booking.start)
    if rules.late_policy is LatePolicy.WALK_IN:
        return CheckinDecision(CheckinOutcome.WALK_IN, late=True)
    raise BookingRefused("too_late", _fill(TOO_LATE, minutes=rules.late_grace_min),
                         late_grace_min=rules.late_grace_min)


SEVERAL_BY_PHONE = Text("这个手机号码今天在本营业厅有多个预约，请输入预约码签到",
                        "This phone number has more than one booking here today: please check in with the "
                        "booking code")
ALREADY_BY_PHONE = Text("这个预约已经签到过了。如果不是您本人签到的，请联系大堂工作人员",
                        "This booking has already been checked in. If that was not you, please ask a member of staff")


def booking_by_phone(bookings: Sequence[T], checked_in: Callable[[T], bool]) -> T:
    """The one booking a check-in by phone number may take, of the number's bookings here today (none: the caller
    answers "no booking"). A number alone is weaker than a code (a stranger may know it), so it never picks among
    several (``several_bookings``: use the code) and never hands out a ticket already issued
    (``already_checked_in``: the ticket stays with whoever checked in; staff can undo that). Neither refusal says
    which booking, slot or ticket."""
    open_ones = [b for b in bookings if not checked_in(b)]
    if len(open_ones) > 1:
        raise BookingRefused("several_bookings", SEVERAL_BY_PHONE, "phone")
    if not open_ones:
        raise BookingRefused("already_checked_in", ALREADY_BY_PHONE, "phone")
    return open_ones[0]


def is_no_show(rules: BranchBooking, booking: BookingFacts, now: datetime) -> bool:
    """A booked appointment never checked in by the end of its slot plus the grace period."""
    return (booking.state is BookingState.BOOKED and not booking.checked_in
            and now > booking.end + timedelta(minutes=rules.late_grace_min))


def free_seat(seats: int, used: Sequence[int]) -> int | None:
    """The lowest seat number of a slot not in ``used`` (0-based), or None when all ``seats`` are taken. The
    database's unique (service, slot, seat) makes two bookings of one seat impossible."""
    taken = set(used)
    return next((n for n in range(seats) if n not in taken), None)


# --- codes ------------------------------------------------------------------------------------------------

BAD_CODE = Text("预约码为 8 位字母或数字", "A booking code has 8 letters or digits")


def new_code() -> str:
    """A fresh booking code (see the module's note on how hard one is to guess)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """A code as typed (lower case, spaces, hyphens) in its stored form, or ``bad_code`` (400)."""
    code = "".join(ch for ch in text.upper() if ch not in " -")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise DomainError(BAD_CODE.en, code="bad_code", http_status=400, text=BAD_CODE.as_dict(), field="code")
    return code


def display_code(code: str) -> str:
    """A code as people read it aloud: two groups of four (``ABCD-2345``)."""
    return f"{code[:4]}-{code[4:]}"


# --- the report's figures -----------------------------------------------------------------------------------------

BOOKING_COUNTS = ("booked", "checked_in", "late_walk_ins", "booking_cancelled", "booking_no_shows")
"""What a closed day keeps of its bookings, per service: every booking of the day (``booked``); those checked in
(``checked_in``), of which checked in past the grace period as a walk-in (``late_walk_ins``); cancelled by their
customer (``booking_cancelled``); never checked in (``booking_no_shows``, :func:`is_no_show`). So ``booked =
checked_in + booking_cancelled + booking_no_shows`` once every slot of the day has ended with its grace."""


def day_booking_counts(rules: BranchBooking, bookings: Iterable[tuple[str, BookingFacts, bool]],
                       closed_at: datetime) -> dict[str, dict[str, int]]:
    """A closed day's booking figures per service, from ``(service, facts, walked_in_late)`` of each of its
    bookings; ``closed_at`` is when the day is judged (its end: no booking of it can be checked in after)."""
    counts: dict[str, dict[str, int]] = {}
    for service, facts, late in bookings:
        row = counts.setdefault(service, dict.fromkeys(BOOKING_COUNTS, 0))
        row["booked"] += 1
        if facts.state is BookingState.CANCELLED:
            row["booking_cancelled"] += 1
        elif facts.checked_in:
            row["checked_in"] += 1
            row["late_walk_ins"] += int(late)
        elif is_no_show(rules, facts, closed_at):
            row["booking_no_shows"] += 1
    return counts
