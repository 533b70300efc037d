"""The roster: who works which counter, with which services, when, on a day of a branch (docs/staffing.md).

A day's roster is a list of :class:`Shift` entries in the branch's local minutes (0-1440, quarter-hour steps): a
*work* entry puts a person at a counter with services in preference order; a *break* entry marks a person's break
(a gap between two work entries is a break too). The rules of one entry against the rest of its day are
:func:`check_shift`; what the staffing advice plans from a roster is :meth:`DayRoster.planned`; which counters are
rostered to open or close soon (for the live estimator) is :func:`counter_changes`. Pure: no clock, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from server.domain.errors import DomainError
from server.domain.hall import Branch
from server.domain.schedule import DayHours

QUARTER = 15
"""Shifts start and end on the quarter hour."""
DAY_MINUTES = 24 * 60
HOUR_SHARE = 30
"""Minutes of an hour a counter must be rostered to count as planned in that hour (half of it)."""
MAX_COPY_DAYS = 62
"""The most days one copy may write (about two months of one weekday, or two of every day)."""


class EntryKind(StrEnum):
    WORK = "work"
    BREAK = "break"


class RosterRefused(DomainError):
    """An entry the roster's rules refuse; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str, *, code: str = "bad_shift", http_status: int = 400) -> None:
        super().__init__(f"{field}: {message}", code=code, http_status=http_status, field=field)


@dataclass(frozen=True)
class Shift:
    """One roster entry of a day: ``start``/``end`` are local minutes since midnight (``end`` may be 1440)."""

    username: str
    start: int
    end: int
    kind: EntryKind = EntryKind.WORK
    counter: str | None = None  # None for a break
    services: tuple[str, ...] = ()  # in preference order; empty for a break
    id: int | None = None

    def overlaps(self, other: Shift) -> bool:
        return self.start < other.end and other.start < self.end

    def minutes_within(self, start: int, end: int) -> int:
        """How many of the minutes ``[start, end)`` this entry covers."""
        return max(0, min(self.end, end) - max(self.start, start))

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind.value, "username": self.username, "counter": self.counter,
                "services": list(self.services), "start": clock_text(self.start), "end": clock_text(self.end)}


def clock_text(minutes: int) -> str:
    """Local minutes as ``HH:MM`` (1440 is ``24:00``)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str, field: str) -> int:
    """``HH:MM`` on the quarter hour, 00:00-24:00, as minutes; 400 ``bad_shift`` naming ``field`` otherwise."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) in (1, 2)):
        raise RosterRefused(field, f"must be a time written HH:MM, got {text[:20]!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > DAY_MINUTES:
        raise RosterRefused(field, f"must be between 00:00 and 24:00, got {text!r}")
    if value % QUARTER:
        raise RosterRefused(field, f"must be on the quarter hour (:00, :15, :30 or :45), got {text!r}")
    return value


def shift_window(hours: DayHours, grace: timedelta) -> tuple[int, int] | None:
    """The minutes a day's shifts may cover: from the first opening to the end of the service day (the last closing
    plus ``grace``, at most midnight); None when the branch is closed that day."""
    if hours.closed:
        return None
    ranges = [r.minutes for r in hours.ranges]
    first = min(start for start, _ in ranges)
    last = max(end for _, end in ranges)
    return first, min(DAY_MINUTES, last + int(grace.total_seconds() // 60))


def check_shift(shift: Shift, *, branch: Branch, window: tuple[int, int] | None, people: Collection[str],
                others: Sequence[Shift]) -> Shift:
    """``shift`` if the rules allow it among ``others`` (the day's other entries), with a work entry's empty
    services defaulting to its counter's. 400 ``bad_shift`` for a bad value, 409 ``shift_clash`` for a clash; each
    names the field at fault. ``people``: the user names that may be rostered at the branch."""
    if shift.username not in people:
        raise RosterRefused("username", f"{shift.username!r} is no member of staff of branch {branch.code}")
    for name, value in (("start", shift.start), ("end", shift.end)):
        if not 0 <= value <= DAY_MINUTES or value % QUARTER:
            raise RosterRefused(name, "must be a quarter hour between 00:00 and 24:00")
    if shift.end <= shift.start:
        raise RosterRefused("end", f"must be after the start ({clock_text(shift.start)})")
    if window is None:
        raise RosterRefused("date", f"branch {branch.code} is closed that day", code="branch_closed")
    first, last = window
    if shift.start < first:
        raise RosterRefused("start", f"must not be before the branch opens ({clock_text(first)})")
    if shift.end > last:
        raise RosterRefused("end", f"must not be after the service day ends ({clock_text(last)})")
    if shift.kind == EntryKind.BREAK:
        if shift.counter is not None or shift.services:
            raise RosterRefused("counter", "a break has no counter or services")
    else:
        shift = _check_work(shift, branch)
    for other in others:
        if other.id is not None and other.id == shift.id:
            continue
        if other.username == shift.username and other.overlaps(shift):
            raise RosterRefused("start", f"{shift.username} is already rostered {clock_text(other.start)}-"
                                f"{clock_text(other.end)}", code="shift_clash", http_status=409)
        if (shift.kind == EntryKind.WORK and other.kind == EntryKind.WORK and other.counter == shift.counter
                and other.overlaps(shift)):
            raise RosterRefused("counter", f"counter {shift.counter} is already rostered to {other.username} "
                                f"{clock_text(other.start)}-{clock_text(other.end)}", code="shift_clash",
                                http_status=409)
    return shift


def _check_work(shift: Shift, branch: Branch) -> Shift:
    if shift.counter is None:
        raise RosterRefused("counter", "a shift needs a counter")
    counter = branch.counter(shift.counter)
    if counter is None:
        raise RosterRefused("counter", f"branch {branch.code} has no counter {shift.counter!r}")
    if not shift.services:
        return replace(shift, services=counter.services)
    if len(set(shift.services)) != len(shift.services):
        raise RosterRefused("services", "a service is named twice")
    refused = [code for code in shift.services if code not in counter.services]
    if refused:
        raise RosterRefused("services", f"counter {counter.number} does not serve {', '.join(refused)} "
                            f"(it serves {', '.join(counter.services)})")
    return shift


def copy_days(source: date, *, days: Sequence[date] = (), weeks: int = 0) -> list[date]:
    """The days a copy of ``source`` writes: ``days`` as given and the same weekday of the ``weeks`` next weeks,
    without the source itself and without repeats, in order; 400 naming ``days``/``weeks`` when there are none or
    more than :data:`MAX_COPY_DAYS`."""
    if weeks < 0:
        raise RosterRefused("weeks", "must not be negative")
    wanted = sorted({*days, *(source + timedelta(weeks=w) for w in range(1, weeks + 1))} - {source})
    if not wanted:
        raise RosterRefused("days", "name at least one other day, or a number of weeks")
    if len(wanted) > MAX_COPY_DAYS:
        raise RosterRefused("days", f"at most {MAX_COPY_DAYS} days at once")
    return wanted


@dataclass(frozen=True)
class DayRoster:
    """One day's entries, read the way the staffing advice plans with them."""

    shifts: tuple[Shift, ...]

    @property
    def has_work(self) -> bool:
        return any(s.kind == EntryKind.WORK for s in self.shifts)

    def planned(self, hour: int) -> dict[str, tuple[str, ...]]:
        """The counters rostered at least :data:`HOUR_SHARE` minutes of local ``hour``, each with the services of
        the shift that covers most of it."""
        start, end = hour * 60, hour * 60 + 60
        covered: dict[str, int] = {}
        best: dict[str, tuple[int, tuple[str, ...]]] = {}
        for shift in self.shifts:
            if shift.kind != EntryKind.WORK or shift.counter is None:
                continue
            minutes = shift.minutes_within(start, end)
            if not minutes:
                continue
            covered[shift.counter] = covered.get(shift.counter, 0) + minutes
            if minutes > best.get(shift.counter, (0, ()))[0]:
                best[shift.counter] = (minutes, shift.services)
        return {number: best[number][1] for number, minutes in covered.items() if minutes >= HOUR_SHARE}


class CounterChangeKind(StrEnum):
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True)
class CounterChange:
    """A counter rostered to open (with its services) or close at ``at``."""

    at: datetime
    counter: str
    kind: CounterChangeKind
    services: tuple[str, ...]


def local_instant(zone: ZoneInfo, day: date, minutes: int) -> datetime:
    """Local ``minutes`` after the start of ``day`` in ``zone``, as an aware UTC instant (1440: the next midnight)."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def counter_changes(branch: Branch, days: Mapping[date, Sequence[Shift]], moment: datetime,
                    horizon: timedelta) -> list[CounterChange]:
    """The counters rostered to open or close in ``(moment, moment + horizon]``, by time then counter number.

    ``days`` holds the rostered days around the moment (the day before, for a shift until midnight, up to the day
    the horizon ends). A counter handed from one person to the next with the same services stays open; with other
    services it closes and opens at the same instant."""
    until = moment + horizon
    spans: dict[str, list[tuple[datetime, datetime, tuple[str, ...]]]] = {}
    for day, shifts in days.items():
        for shift in shifts:
            if shift.kind == EntryKind.WORK and shift.counter is not None:
                spans.setdefault(shift.counter, []).append(
                    (local_instant(branch.timezone, day, shift.start), local_instant(branch.timezone, day, shift.end),
                     shift.services))
    changes = []
    for counter, found in spans.items():
        merged: list[tuple[datetime, datetime, tuple[str, ...]]] = []
        for start, end, services in sorted(found):
            if merged and merged[-1][1] >= start and merged[-1][2] == services:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end), services)
            else:
                merged.append((start, end, services))
        for start, end, services in merged:
            for at, kind in ((start, CounterChangeKind.OPEN), (end, CounterChangeKind.CLOSE)):
                if moment < at <= until:
                    changes.append(CounterChange(at, counter, kind, services))
    order = {CounterChangeKind.CLOSE: 0, CounterChangeKind.OPEN: 1}  # a handover closes before it opens
    return sorted(changes, key=lambda c: (c.at, c.counter, order[c.kind]))
