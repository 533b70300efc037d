"""Opening schedules: when a branch and each of its services take tickets.

A day's hours are one or more ranges of the branch's wall clock ("09:00-12:00, 13:30-17:00": a lunch break), or
none ("closed"). Weekly hours give a default for every day and overrides for some weekdays (weekends differ).
Dated exceptions (a public holiday, special hours, an early close on the eve of a holiday) replace the weekly
hours on a date or a range of dates, for the whole branch or for named services.

A service's hours on a date are its own (its exception, else its weekly hours, else the branch's) and never
outside the branch's hours that date: the two are intersected, so a branch-wide holiday closes every service.

All dates are local dates of the branch's time zone, and all instants the queries return are aware datetimes in
UTC. Instants are compared in UTC on purpose: two datetimes with the same ``ZoneInfo`` compare by their wall
clock, which is wrong in the hour repeated when summer time ends. Where the clock skips a time (the hour lost when
summer time begins), that time happens at the moment the clock jumps past it; where it shows a time twice, an
opening is at its first showing. ``is_open`` and the instants agree: the next opening is the first instant after
now at which ``is_open`` turns true.

Pure Python: the clock is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from server.domain.errors import DomainError
from server.domain.values import InvalidValue, Problem, Text, ValueFormat, check_text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
CLOSED = "closed"
HORIZON_DAYS = 366  # how far ahead the next opening is looked for (a year and a day: an annual closure passes)
OPEN_UNTIL_DAYS = 8  # how far ahead the end of an opening is looked for (beyond: "open for more than a week")
_DAY = 24 * 60
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_JUST_BEFORE = timedelta(microseconds=1)


# --- a range, a day, a week --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hours:
    """One opening range within a day, written "09:00-18:00"; "24:00" closes at midnight."""

    opens: time
    closes: time | None  # None means midnight (open until the end of the day)

    def __post_init__(self) -> None:
        if self.closes is not None and self.closes <= self.opens:
            raise InvalidValue("hours", f"closing time must be after opening time in {str(self)!r}",
                               Problem.BAD_TIME_RANGE, value=str(self))

    @classmethod
    def parse(cls, text: str, field: str = "hours") -> Hours:
        match = _RANGE.match(text)
        if match is None:
            raise InvalidValue(field, f'must look like "09:00-18:00", got {text!r}', Problem.BAD_FORMAT,
                               format=ValueFormat.HOURS, value=text)
        oh, om, ch, cm = (int(g) for g in match.groups())
        if not (oh < 24 and om < 60 and cm < 60 and (ch < 24 or (ch == 24 and cm == 0))):
            raise InvalidValue(field, f"not a time range: {text!r}", Problem.BAD_FORMAT, format=ValueFormat.HOURS,
                               value=text)
        opens = time(oh, om)
        closes = None if ch == 24 else time(ch, cm)
        # Checked here too so that the message quotes the text as written (\d also matches other scripts' digits).
        if closes is not None and closes <= opens:
            raise InvalidValue(field, f"closing time must be after opening time in {text!r}",
                               Problem.BAD_TIME_RANGE, value=text)
        return cls(opens, closes)

    @classmethod
    def of_minutes(cls, start: int, end: int) -> Hours:
        """The range from minute ``start`` to minute ``end`` of the day (1440: midnight at the end)."""
        return cls(time(start // 60, start % 60), None if end >= _DAY else time(end // 60, end % 60))

    @property
    def minutes(self) -> tuple[int, int]:
        """(first minute, minute after the last) of the day; a 24:00 close is 1440."""
        end = _DAY if self.closes is None else self.closes.hour * 60 + self.closes.minute
        return self.opens.hour * 60 + self.opens.minute, end

    def is_open(self, at: time) -> bool:
        return self.opens <= at and (self.closes is None or at < self.closes)

    def __str__(self) -> str:
        closes = "24:00" if self.closes is None else self.closes.strftime("%H:%M")
        return f"{self.opens.strftime('%H:%M')}-{closes}"


def _check_ranges(ranges: Sequence[Hours], field: str) -> tuple[Hours, ...]:
    """Ranges in order that neither overlap nor meet (two ranges that meet are one range written twice)."""
    for before, after in pairwise(ranges):
        if after.opens < before.opens:
            raise InvalidValue(field, f"ranges must be in order of time: {before} comes after {after}",
                               Problem.OVERLAP, value=f"{before}, {after}")
        if before.minutes[1] >= after.minutes[0]:
            raise InvalidValue(field, f"ranges must not overlap or meet: {before} and {after}",
                               Problem.OVERLAP, value=f"{before}, {after}")
    return tuple(ranges)


@dataclass(frozen=True)
class DayHours:
    """A day's opening hours: ranges in order of time ("09:00-12:00, 13:30-17:00"), or none ("closed")."""

    ranges: tuple[Hours, ...] = ()

    def __post_init__(self) -> None:
        _check_ranges(self.ranges, "hours")

    @classmethod
    def parse(cls, text: str, field: str = "hours") -> DayHours:
        """ "closed", or comma-separated ranges in any order; overlapping or inverted ranges are refused."""
        if text.strip() == CLOSED:
            return cls()
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise InvalidValue(field, f'must be "closed" or ranges like "09:00-12:00, 13:30-17:00", got {text!r}',
                               Problem.BAD_FORMAT, format=ValueFormat.HOURS, value=text)
        ranges = sorted((Hours.parse(part, field) for part in parts), key=lambda r: r.opens)
        return cls(_check_ranges(ranges, field))

    @property
    def closed(self) -> bool:
        """No opening at all this day."""
        return not self.ranges

    def is_open(self, at: time) -> bool:
        return any(r.is_open(at) for r in self.ranges)

    def intersect(self, other: DayHours) -> DayHours:
        """The times both are open."""
        common = []
        for mine in self.ranges:
            for theirs in other.ranges:
                start = max(mine.minutes[0], theirs.minutes[0])
                end = min(mine.minutes[1], theirs.minutes[1])
                if start < end:
                    common.append((start, end))
        return DayHours(tuple(Hours.of_minutes(start, end) for start, end in sorted(common)))

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.ranges) if self.ranges else CLOSED


ALL_DAY = DayHours((Hours(time(0, 0), None),))
CLOSED_ALL_DAY = DayHours()


def check_weekday(name: str, field: str = "hours_by_day") -> int:
    """A weekday as written in the configuration ("sat") -> its number (Monday 0, as ``date.weekday()``)."""
    if name not in WEEKDAYS:
        raise InvalidValue(field, f"unknown day {name!r} (days: {', '.join(WEEKDAYS)})", Problem.NOT_ONE_OF,
                           allowed=WEEKDAYS, value=name)
    return WEEKDAYS.index(name)


@dataclass(frozen=True)
class WeeklyHours:
    """Hours for each day of the week: ``default``, and ``days`` (Monday first) for the weekdays that differ.

    A service's ``default`` may be None: on the days it does not name, it keeps the branch's hours.
    """

    default: DayHours | None
    days: tuple[DayHours | None, ...] = (None,) * 7

    def __post_init__(self) -> None:
        if len(self.days) != len(WEEKDAYS):
            raise InvalidValue("hours_by_day", f"needs one entry per weekday, got {len(self.days)}")

    @classmethod
    def of(cls, default: DayHours | None, by_day: Mapping[str, DayHours] | None = None) -> WeeklyHours:
        """From a default and overrides by weekday name ({"sat": ..., "sun": ...})."""
        days: list[DayHours | None] = [None] * 7
        for name, hours in (by_day or {}).items():
            days[check_weekday(name)] = hours
        return cls(default, tuple(days))

    def on(self, weekday: int) -> DayHours | None:
        """The hours of a weekday (Monday 0); None: a service that keeps the branch's hours that day."""
        own = self.days[weekday]
        return self.default if own is None else own

    def by_day(self) -> dict[str, DayHours]:
        """The weekdays with their own hours, by name."""
        return {WEEKDAYS[i]: hours for i, hours in enumerate(self.days) if hours is not None}


FOLLOWS_BRANCH = WeeklyHours(None)
"""A service without hours of its own."""


# --- dated exceptions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleException:
    """Hours that replace the weekly ones from ``first`` to ``last`` (local dates, both included): closed for a
    public holiday, special hours, an early close on the eve of a holiday. For the whole branch, or only for
    ``services``. ``name`` (optional) is what screens may show ("国庆节" / "National Day")."""

    first: date
    last: date
    hours: DayHours
    name: Text | None = None
    services: tuple[str, ...] = ()  # empty: the whole branch

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidValue("until", f"must not be before the date {self.first.isoformat()}, "
                                        f"got {self.last.isoformat()}", Problem.TOO_SMALL, min=self.first.isoformat(),
                               value=self.last.isoformat())
        if len(set(self.services)) != len(self.services):
            raise InvalidValue("services", "a service is listed twice", Problem.DUPLICATE)
        if self.name is not None:
            check_text(self.name, "name")

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last

    def applies_to(self, service: str | None) -> bool:
        """Whether it shapes the branch's own hours (``service`` None) or those of one service."""
        return not self.services if service is None else service in self.services

    def clashes_with(self, other: ScheduleException) -> bool:
        """Both would decide the same hours on some date: their dates overlap and so do their scopes."""
        dates = self.first <= other.last and other.first <= self.last
        scopes = (not self.services and not other.services) or bool(set(self.services) & set(other.services))
        return dates and scopes

    def describe(self) -> str:
        dates = self.first.isoformat() if self.first == self.last else f"{self.first}..{self.last}"
        return dates + (f" for {', '.join(self.services)}" if self.services else "")


# --- what a service is told about its hours ----------------------------------------------------------------


@dataclass(frozen=True)
class OpeningStatus:
    """A service (or the branch) at one instant: open or not, today's hours and the instants that matter."""

    open: bool
    today: DayHours  # the effective hours of the local date
    opens_at: datetime | None  # closed now: when it opens next (None: not within the horizon)
    open_until: datetime | None  # open now: when this opening ends (a lunch break, the day's close)
    closes_at: datetime | None  # the end of today's last range (None: closed all day)
    closed_for: Text | None  # closed all day by a named exception (a public holiday): its name


class ServiceClosed(DomainError):
    """A ticket asked for outside the service's hours; the details say when it opens next."""

    code = "service_closed"

    def __init__(self, service_name: str, status: OpeningStatus) -> None:
        opens = status.opens_at
        super().__init__(
            f"{service_name} is closed now; "
            + (f"it opens next at {opens.isoformat()}" if opens else "it has no opening hours ahead"),
            hours=str(status.today),
            opens_at=None if opens is None else opens.isoformat(),
            closed_for=None if status.closed_for is None else status.closed_for.as_dict(),
        )


# --- the schedule of a branch ------------------------------------------------------------------------------


class Schedule:
    """A branch's opening schedule and its services': the queries every rule about hours asks.

    Building one checks what relates its parts: the branch has hours for every day, exceptions name only the
    branch's services, and no two exceptions decide the same hours on the same date.
    """

    _CACHE_LIMIT = 20_000  # (date, service) entries; a snapshot's searches revisit the same dates

    def __init__(self, timezone: ZoneInfo, hours: WeeklyHours, services: Mapping[str, WeeklyHours],
                 exceptions: Sequence[ScheduleException] = ()) -> None:
        if hours.default is None:
            raise InvalidValue("hours", 'a branch needs hours for every day ("closed" is allowed)', Problem.REQUIRED)
        for i, exception in enumerate(exceptions):
            for code in exception.services:
                if code not in services:
                    raise InvalidValue(f"exceptions[{i}].services", f"unknown service {code!r}",
                                       Problem.UNKNOWN_REFERENCE, kind="service", value=code)
            for j, earlier in enumerate(exceptions[:i]):
                if exception.clashes_with(earlier):
                    raise InvalidValue(f"exceptions[{i}]", f"{exception.describe()} overlaps exceptions[{j}] "
                                                           f"({earlier.describe()})", Problem.OVERLAP)
        self.timezone = timezone
        self.hours = hours
        self.services = dict(services)
        self.exceptions = tuple(exceptions)
        self._cache: dict[tuple[date, str | None], DayHours] = {}
        self._status: dict[str | None, tuple[datetime, datetime, OpeningStatus]] = {}  # from, until, status

    # --- hours of a date ---------------------------------------------------------------------------

    def exception_on(self, day: date, service: str | None = None) -> ScheduleException | None:
        """The exception that decides the hours on ``day``: the service's own, else the branch's."""
        own = None if service is None else self._exception(day, service)
        return own if own is not None else self._exception(day, None)

    def _exception(self, day: date, scope: str | None) -> ScheduleException | None:
        return next((e for e in self.exceptions if e.covers(day) and e.applies_to(scope)), None)

    def hours_on(self, day: date, service: str | None = None) -> DayHours:
        """The effective hours of the branch (``service`` None) or of a service on a local date."""
        key = (day, service)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        branch_exception = self._exception(day, None)
        branch = branch_exception.hours if branch_exception else self.hours.on(day.weekday())
        assert branch is not None  # the branch's default is checked above
        hours = branch
        if service is not None:
            own_exception = self._exception(day, service)
            own = own_exception.hours if own_exception else self.services[service].on(day.weekday())
            hours = branch if own is None else own.intersect(branch)
        if len(self._cache) >= self._CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = hours
        return hours

    def weekly(self, service: str | None = None) -> WeeklyHours:
        """The usual week (no exceptions) of the branch or of a service, within the branch's hours; ``days``
        holds only the weekdays that differ from ``default``."""
        branch = self.hours
        if service is None:
            return branch
        own = self.services[service]
        assert branch.default is not None
        default = branch.default if own.default is None else own.default.intersect(branch.default)
        days: list[DayHours | None] = []
        for weekday in range(7):
            theirs = branch.on(weekday)
            assert theirs is not None
            mine = own.on(weekday)
            hours = theirs if mine is None else mine.intersect(theirs)
            days.append(None if hours == default else hours)
        return WeeklyHours(default, tuple(days))

    # --- instants ----------------------------------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        """The branch's wall clock at an aware instant (a naive one is refused: whose clock would it be?)."""
        if at.tzinfo is None:
            raise ValueError("opening hours need an aware datetime")
        return at.astimezone(self.timezone)

    def is_open(self, at: datetime, service: str | None = None) -> bool:
        """Whether the branch (or a service) takes tickets at the aware instant ``at``."""
        local = self.local(at)
        return self.hours_on(local.date(), service).is_open(local.time())

    def next_opening(self, after: datetime, service: str | None = None, *,
                     horizon_days: int = HORIZON_DAYS) -> datetime | None:
        """The first instant after ``after`` at which it opens (closed just before, open then), looking
        ``horizon_days`` local dates ahead; None when it never opens within them."""
        first_day = self.local(after).date()
        after = after.astimezone(UTC)
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            hours = self.hours_on(day, service)
            if hours.closed:
                continue
            candidates = {self.instant(day, r.opens, later=later) for r in hours.ranges for later in (False, True)}
            candidates.update(self._transitions(day))
            for candidate in sorted(candidates):
                if candidate > after and self._turns(candidate, service, to_open=True):
                    return candidate
        return None

    def open_until(self, at: datetime, service: str | None = None, *,
                   horizon_days: int = OPEN_UNTIL_DAYS) -> datetime | None:
        """When the opening that ``at`` falls in ends (a lunch break, the day's close, a closed day after a
        24:00 close); None when it is closed at ``at`` or stays open for the whole horizon."""
        if not self.is_open(at, service):
            return None
        first_day = self.local(at).date()
        at = at.astimezone(UTC)
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            ranges = self.hours_on(day, service).ranges
            candidates = {self.instant(day, r.closes, later=later) for r in ranges for later in (False, True)}
            candidates.update(self._transitions(day))
            for candidate in sorted(candidates):
                if candidate > at and self._turns(candidate, service, to_open=False):
                    return candidate
        return None

    def closes_at(self, day: date, service: str | None = None) -> datetime | None:
        """The instant the last range of local date ``day`` ends (a 24:00 close: the next local midnight);
        None when closed all day. A closing time the clock shows twice is its second showing: until then the
        clock keeps coming back into the range."""
        ranges = self.hours_on(day, service).ranges
        if not ranges:
            return None
        return self.instant(day, ranges[-1].closes, later=True)

    def status(self, at: datetime, service: str | None = None) -> OpeningStatus:
        """What a screen shows about a service at ``at``, and what a refusal says.

        Every snapshot asks this for every service; the answer stays the same until it opens or closes or the
        local date changes, so it is kept until then (a search through the days ahead costs up to a
        millisecond a service; a hall's screens re-join by the hundred)."""
        at = self.local(at).astimezone(UTC)
        kept = self._status.get(service)
        if kept is not None and kept[0] <= at < kept[1]:
            return kept[2]
        day = self.local(at).date()
        today = self.hours_on(day, service)
        is_open = self.is_open(at, service)
        exception = self.exception_on(day, service)
        status = OpeningStatus(
            open=is_open,
            today=today,
            opens_at=None if is_open else self.next_opening(at, service),
            open_until=self.open_until(at, service) if is_open else None,
            closes_at=self.closes_at(day, service),
            closed_for=exception.name if exception is not None and today.closed else None,
        )
        changes = [t for t in (status.opens_at, status.open_until) if t is not None]
        self._status[service] = (at, min([self.instant(day, None), *changes]), status)
        return status

    def require_open(self, service: str, service_name: str, at: datetime) -> None:
        """Refuses (:class:`ServiceClosed`) a ticket for ``service`` outside its hours."""
        if not self.is_open(at, service):
            raise ServiceClosed(service_name, self.status(at, service))

    def instant(self, day: date, at: time | None, *, later: bool = False) -> datetime:
        """The instant (UTC) the branch's clock shows ``at`` on local date ``day``; None is 24:00, the next
        day's midnight. A time shown twice (summer time ends) is its first showing, or its second with
        ``later``; a time the clock skips (summer time begins) is the moment the clock jumps past it."""
        if at is None:
            return self.instant(day + timedelta(days=1), time(0, 0))
        zone = self.timezone
        wall = datetime.combine(day, at)
        first = wall.replace(tzinfo=zone).astimezone(UTC)
        second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        if first.astimezone(zone).replace(tzinfo=None) == wall:
            return second if later else first
        # Skipped: between the two readings the clock jumps from before ``wall`` to after it. Transitions fall
        # on whole seconds, so a search over seconds finds the jump exactly.
        low, high = sorted((int(first.timestamp()), int(second.timestamp())))
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        return datetime.fromtimestamp(high, UTC)

    def _transitions(self, day: date) -> list[datetime]:
        """The instant the clock changes its offset during local date ``day`` (at most one a day), if any."""
        start, end = self.instant(day, time(0, 0)), self.instant(day, None)
        before = self.local(start).utcoffset()
        if self.local(end - _JUST_BEFORE).utcoffset() == before:
            return []
        low, high = int(start.timestamp()), int(end.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self.timezone).utcoffset() == before:
                low = middle
            else:
                high = middle
        return [datetime.fromtimestamp(high, UTC)]

    def _turns(self, at: datetime, service: str | None, *, to_open: bool) -> bool:
        """Whether it opens (``to_open``) or closes exactly at ``at``."""
        return self.is_open(at, service) == to_open and self.is_open(at - _JUST_BEFORE, service) != to_open
