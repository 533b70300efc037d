"""Ticket numbers and the branch's local service day."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo


def service_day(now: datetime, tz: ZoneInfo) -> date:
    """The branch-local calendar day of an aware ``now`` (numbering restarts at local midnight)."""
    if now.tzinfo is None:
        raise ValueError("service_day needs an aware datetime")
    return now.astimezone(tz).date()


def local_time(now: datetime, tz: ZoneInfo) -> time:
    return now.astimezone(tz).time()


def format_number(prefix: str, sequence: int, width: int) -> str:
    """``A`` + 7 with width 3 -> ``A007``; wider sequences are never truncated."""
    return f"{prefix}{sequence:0{width}d}"
