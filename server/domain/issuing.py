"""Stopping and resuming the issue of tickets by hand.

A manager (or, where the configuration allows it, a member of staff) stops issuing for one service or the
whole branch, now or from a later time, until the end of the service day or until resumed, with a reason the
kiosk shows in both languages: one of :data:`STOP_REASONS` or a text of their own. Tickets already issued keep
their place; only new tickets are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.errors import DomainError
from server.domain.values import InvalidValue, Problem, Text, ValueFormat

STOP_REASONS: dict[str, Text] = {
    "all_taken": Text("今日号已发完", "Today's tickets are all taken"),
    "closing": Text("即将停止营业，暂停取号", "We are closing soon: no more tickets today"),
    "busy": Text("排队人数较多，暂停取号", "The queue is full: tickets are paused"),
    "maintenance": Text("系统维护，暂停取号", "Paused for maintenance"),
}
"""The reasons offered with a stop, as the kiosk shows them; ``custom`` takes a text in each language instead."""
CUSTOM_REASON = "custom"
MAX_REASON_TEXT = 100
MAX_SCHEDULE_AHEAD = timedelta(days=31)


@dataclass(frozen=True)
class StopChange:
    """What a stop or a resume did, for the event (the service adds who did it)."""

    kind: str  # "issue_stopped" or "issue_resumed"
    stop: IssueStop


@dataclass(eq=False, slots=True)
class IssueStop:
    """Issue stopped for ``service_code`` (None: every service of the branch) from ``starts_at`` until
    ``ends_at`` (None: until resumed) or until resumed by hand."""

    branch_code: str
    service_code: str | None
    starts_at: datetime
    ends_at: datetime | None
    reason_code: str
    reason: Text
    created_by: str | None
    created_at: datetime
    resumed_at: datetime | None = None
    resumed_by: str | None = None
    id: int | None = None

    @classmethod
    def create(cls, *, branch_code: str, service_code: str | None, now: datetime, starts_at: datetime | None,
               ends_at: datetime | None, reason_code: str, text: Text | None, by: str | None) -> IssueStop:
        """A new stop; refused (422, naming the field) when its times or its reason make no sense."""
        for name, value in (("starts_at", starts_at), ("until", ends_at)):
            if value is not None and value.tzinfo is None:
                raise DomainError(f"{name} needs a time zone offset", code="bad_stop", http_status=422, field=name)
        starts = now if starts_at is None or starts_at < now else starts_at
        if starts - now > MAX_SCHEDULE_AHEAD:
            raise DomainError(f"starts_at may be at most {MAX_SCHEDULE_AHEAD.days} days ahead", code="bad_stop",
                              http_status=422, field="starts_at")
        if ends_at is not None and ends_at <= starts:
            raise DomainError("the stop must end after it starts", code="bad_stop", http_status=422,
                              field="until")
        return cls(branch_code=branch_code, service_code=service_code, starts_at=starts, ends_at=ends_at,
                   reason_code=reason_code, reason=stop_reason(reason_code, text), created_by=by, created_at=now)

    def active_at(self, now: datetime) -> bool:
        return self.resumed_at is None and self.starts_at <= now and (self.ends_at is None or now < self.ends_at)

    def over_at(self, now: datetime) -> bool:
        """Resumed, or past its end: it will never refuse a ticket again."""
        return self.resumed_at is not None or (self.ends_at is not None and now >= self.ends_at)

    def covers(self, service_code: str) -> bool:
        return self.service_code is None or self.service_code == service_code

    def resume(self, now: datetime, by: str | None) -> StopChange:
        if self.over_at(now):
            raise DomainError("issue is not stopped by this any more", code="not_stopped")
        self.resumed_at, self.resumed_by = now, by
        return StopChange("issue_resumed", self)

    def view(self) -> dict[str, Any]:
        """What a screen shows of it (no names of staff)."""
        return {"id": self.id, "service": self.service_code, "starts_at": _utc(self.starts_at),
                "ends_at": None if self.ends_at is None else _utc(self.ends_at), "reason_code": self.reason_code,
                "reason": self.reason.as_dict()}


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def stop_reason(code: str, text: Text | None) -> Text:
    """The words of a stop's reason: a preset's, or the custom text (both languages, not blank, not too long)."""
    if code in STOP_REASONS:
        if text is not None:
            raise DomainError("a preset reason takes no text; use reason custom", code="bad_stop", http_status=422,
                              field="text")
        return STOP_REASONS[code]
    if code != CUSTOM_REASON:
        raise DomainError(f"unknown reason {code!r}; one of {', '.join([*STOP_REASONS, CUSTOM_REASON])}",
                          code="bad_stop", http_status=422, field="reason")
    if text is None:
        raise DomainError("a custom reason needs a text in each language", code="bad_stop", http_status=422,
                          field="text")
    for language, words in text.as_dict().items():
        if not words.strip():
            raise DomainError(f"the reason's {language} text is blank", code="bad_stop", http_status=422,
                              field=f"text.{language}")
        if len(words) > MAX_REASON_TEXT:
            raise DomainError(f"the reason's {language} text is longer than {MAX_REASON_TEXT} characters",
                              code="bad_stop", http_status=422, field=f"text.{language}")
    return Text(text.zh.strip(), text.en.strip())


def blocking(stops: list[IssueStop], service_code: str, now: datetime) -> IssueStop | None:
    """The stop that refuses a new ticket of ``service_code`` now (a branch-wide one first), if any."""
    active = [s for s in stops if s.active_at(now) and s.covers(service_code)]
    active.sort(key=lambda s: (s.service_code is not None, s.starts_at))
    return active[0] if active else None


def resumes_at(stops: list[IssueStop], service_code: str, now: datetime) -> datetime | None:
    """When new tickets of ``service_code`` are issued again by themselves, if stops refuse them now: the end of
    the stops in force, and of those that follow them without a gap (a branch-wide stop until 14:00 and the
    service's own from 13:30 to 15:00 give 15:00). None when nothing refuses them now, or when a stop in the way
    lasts until resumed by hand."""
    at = now
    while True:  # each round moves past an end strictly later than ``at``: there are finitely many
        active = [s for s in stops if s.active_at(at) and s.covers(service_code)]
        if not active:
            return None if at == now else at
        if any(s.ends_at is None for s in active):
            return None
        at = max(s.ends_at for s in active if s.ends_at is not None)


# --- the last ticket of the day ----------------------------------------------------------------------------

_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class LastTicket:
    """When a service stops taking tickets before it closes, so that the last customers are served by closing
    time: at a fixed local time ("20:30" for a 21:00 close), or ``auto``: as long as a new ticket's estimated wait
    (the upper end of its range) and its expected service still end by the close."""

    at: time | None  # None: auto

    @classmethod
    def parse(cls, text: str, field: str = "last_ticket") -> LastTicket:
        if text == "auto":
            return cls(None)
        match = _CLOCK_TIME.match(text)
        if match is None:
            raise InvalidValue(field, f'must be "auto" or a time of day like "20:30", got {text!r}', Problem.BAD_FORMAT,
                               format=ValueFormat.TIME_OF_DAY, value=text)
        return cls(time(int(match.group(1)), int(match.group(2))))

    def __str__(self) -> str:
        return "auto" if self.at is None else self.at.strftime("%H:%M")

    def until(self, closes_at: datetime, tz: ZoneInfo, *, wait_high: timedelta | None,
              service_time: timedelta) -> datetime:
        """The last instant a ticket is issued on the day that closes at ``closes_at`` (never after it). ``auto``
        without an estimate (no counter open yet, no history) keeps only the service time before the close."""
        if self.at is not None:
            local_day = (closes_at - timedelta(microseconds=1)).astimezone(tz).date()
            return min(closes_at, datetime.combine(local_day, self.at, tzinfo=tz).astimezone(UTC))
        return closes_at - (wait_high or timedelta(0)) - service_time


class LastTicketPassed(DomainError):
    """A ticket asked for after the service's last-ticket time today; the details say until when and what next."""

    code = "last_ticket_passed"

    def __init__(self, service_name: str, until: datetime, opens_at: datetime | None) -> None:
        super().__init__(f"{service_name} issued its last ticket for today at {until.isoformat()}",
                         tickets_until=until.isoformat(), opens_at=None if opens_at is None else opens_at.isoformat())


def tickets_until(rule: LastTicket | None, closes_at: datetime | None, tz: ZoneInfo, *, wait_high: timedelta | None,
                  service_time: timedelta) -> datetime | None:
    """Today's last-ticket instant of a service with ``rule`` that closes at ``closes_at`` (its last range today);
    None without a rule or when it does not open today."""
    if rule is None or closes_at is None:
        return None
    return rule.until(closes_at, tz, wait_high=wait_high, service_time=service_time)
