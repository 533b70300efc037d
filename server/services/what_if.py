"""What-if: a closed day of a branch replayed with its real arrivals and counters, and again with a change of the
counters, beside what actually happened (docs/staffing.md#what-if). The replay is :mod:`server.domain.replay`.

It costs CPU, not writes, so it is bounded rather than queued: a day of more than :data:`MAX_TICKETS` tickets is
refused, at most :data:`~server.domain.replay.MAX_CHANGES` changes, and each process runs at most
:data:`CONCURRENT` what-ifs at a time (another asks again in a second: 429 ``what_if_busy``). The runs go through
``offload`` (a native thread under eventlet), so the hall's requests keep being served meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any

from server.domain import replay
from server.domain.errors import DomainError, NotFound
from server.domain.hall import Branch
from server.domain.policy import PolicyRules
from server.domain.service_day import next_midnight
from server.domain.tickets import PriorityClass
from server.offload import Offload
from server.persistence import replay_days, service_days
from server.services.access import require_reports
from server.services.actor import Actor
from server.services.context import HallContext
from server.services.limits import TooManyRequests

MAX_TICKETS = 20_000  # about 13 times a busy branch's day: a replay of that many takes a few hundred ms
CONCURRENT = 1
RUNS = ("actual", "replay", "what_if")


def _minutes(at: datetime | None, origin: datetime) -> float | None:
    return None if at is None else (at - origin).total_seconds() / 60


def _span(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else max(0.0, (end - start).total_seconds() / 60)


def load_day(branch: Branch, day: date, tickets: Sequence[replay_days.TicketRecord],
             events: Sequence[replay_days.CounterRecord]) -> replay.Day:
    """The day in the replay's terms (minutes from its local midnight)."""
    origin = datetime.combine(day, clock_time(0), tzinfo=branch.timezone)
    origin_utc = origin.astimezone(UTC)
    day_tickets = []
    for t in tickets:
        ending = replay.Ending.of(t.state)
        day_tickets.append(replay.DayTicket(
            ticket_id=t.id, service=t.service_code, priority=PriorityClass(t.priority),
            issued=_minutes(t.issued_at, origin_utc) or 0.0, ending=ending,
            called=_minutes(t.first_called_at, origin_utc),
            service_min=_span(t.service_started_at, t.finished_at) if ending is replay.Ending.SERVED else None,
            left=_minutes(t.cancelled_at, origin_utc) if ending is replay.Ending.CANCELLED else None,
            no_show_call_min=_span(t.called_at, t.no_show_at) if ending is replay.Ending.NO_SHOW else None))
    end = _minutes(next_midnight(branch, day), origin_utc) or replay.DAY_MINUTES
    shifts = replay.shifts_from_events(
        [replay.CounterEvent(_minutes(e.at, origin_utc) or 0.0, e.counter, e.kind, e.services) for e in events],
        end, {c.number: c.services for c in branch.counters}, {c.number: c.role for c in branch.counters})
    return replay.Day(origin=origin, tickets=tuple(day_tickets), shifts=tuple(shifts),
                      target_min={s.code: s.target_wait.total_seconds() / 60 for s in branch.services},
                      expected_service_min={s.code: s.expected_service.total_seconds() / 60 for s in branch.services})


def compare(day: replay.Day, changes: Sequence[replay.Change], rules: PolicyRules, seed: int) -> dict[str, Any]:
    """The three runs' figures (what happened, the replay as it was, the replay with the changes), each run's time."""
    started = time.perf_counter()
    runs = {"actual": replay.figures(day, replay.actual(day))}
    timings = {}
    for name, shifts in (("replay", day.shifts), ("what_if", replay.apply_changes(day.shifts, changes))):
        began = time.perf_counter()
        runs[name] = replay.figures(day, replay.replay(day, shifts, rules, seed))
        timings[name] = round((time.perf_counter() - began) * 1000, 1)
    return {"runs": runs, "replay_ms": timings, "total_ms": round((time.perf_counter() - started) * 1000, 1)}


def _clock(minute: float) -> str:
    whole = round(minute)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def change_view(change: replay.Change) -> dict[str, Any]:
    """A change as the API writes it."""
    when = {"start": _clock(change.start), "end": _clock(change.end)}
    if isinstance(change, replay.AddCounter):
        return {"kind": "add_counter", **when, "services": list(change.services)}
    if isinstance(change, replay.AddService):
        return {"kind": "add_service", "counter": change.counter, "service": change.service, **when}
    return {"kind": "close_counter", "counter": change.counter, **when}


class WhatIf:
    """What-if replays of the closed days of every branch of a hall."""

    def __init__(self, hall: HallContext, concurrent: int = CONCURRENT) -> None:
        self.hall = hall
        self._slots = threading.BoundedSemaphore(concurrent)

    def run(self, branch_code: str, actor: Actor, day: date, changes: Sequence[replay.Change], seed: int = 1,
            offload: Offload | None = None) -> dict[str, Any]:
        """Replay ``day`` of the branch as it was and with ``changes`` (a reader of the branch's figures). 404
        ``day_not_closed`` for a day that has not ended (or was never recorded), ``no_tickets`` for a day without
        tickets; 400 naming the field for a change that cannot apply; 422 ``day_too_large``; 429 ``what_if_busy``."""
        hall = self.hall
        branch = hall.branch(branch_code)
        require_reports(hall.config, actor, branch)
        replay.check_changes(changes, [s.code for s in branch.services], [c.number for c in branch.counters])
        origin = datetime.combine(day, clock_time(0), tzinfo=branch.timezone)
        with hall.uow.read() as session:
            connection = session.connection()
            count = replay_days.count_tickets(connection, branch.code, day)
            if count == 0:
                raise NotFound(f"branch {branch.code} issued no tickets on {day.isoformat()}", code="no_tickets",
                               parameter="day")
            if not service_days.closed_among(connection, branch.code, [day]):
                raise NotFound(f"{day.isoformat()} has not ended yet at branch {branch.code}: only closed days "
                               "replay", code="day_not_closed", parameter="day")
            if count > MAX_TICKETS:
                raise DomainError(f"{day.isoformat()} has {count} tickets; a what-if replays at most {MAX_TICKETS}",
                                  code="day_too_large", http_status=422, parameter="day")
            tickets = replay_days.day_tickets(connection, branch.code, day)
            events = replay_days.counter_events(connection, branch.code, origin.astimezone(UTC),
                                                next_midnight(branch, day))
        loaded = load_day(branch, day, tickets, events)
        if not self._slots.acquire(blocking=False):
            raise TooManyRequests("another what-if is running on this server; try again in a second",
                                  code="what_if_busy", retry_after_s=1)
        try:
            result = (offload or _run)(lambda: compare(loaded, changes, hall.rules, seed))
        finally:
            self._slots.release()
        return {"branch": branch.code, "date": day.isoformat(), "timezone": branch.timezone.key, "seed": seed,
                "changes": [change_view(c) for c in changes],
                "counters": _counters_view(loaded),
                **result}


def _counters_view(day: replay.Day) -> list[dict[str, Any]]:
    """The day's shifts, for the page to show what the replay starts from."""
    return [{"counter": s.counter, "start": _clock(s.start), "end": _clock(s.end), "services": list(s.services)}
            for s in day.shifts]


def _run(work: Any) -> Any:
    return work()


def parse_clock(text: str, field: str) -> float:
    """``HH:MM`` (00:00-24:00) as minutes from midnight; 400 naming ``field`` otherwise."""
    parts = text.split(":")
    if (len(parts) == 2 and all(p.isascii() and p.isdigit() and len(p) == 2 for p in parts)
            and int(parts[1]) < 60 and int(parts[0]) * 60 + int(parts[1]) <= replay.DAY_MINUTES):
        return float(int(parts[0]) * 60 + int(parts[1]))
    raise DomainError(f"{field} must be a time HH:MM from 00:00 to 24:00, got {text!r}", code="bad_change",
                      http_status=400, parameter=field)

