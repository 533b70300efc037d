"""Ticket numbers and the branch-local service day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from server.domain.numbering import format_number, local_time, service_day

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("prefix", "sequence", "width", "expected"),
    [
        ("A", 1, 3, "A001"),
        ("A", 7, 3, "A007"),
        ("B", 42, 3, "B042"),
        ("C", 999, 3, "C999"),
        ("V", 0, 3, "V000"),
        ("AB", 5, 4, "AB0005"),
        ("XYZ", 12, 1, "XYZ12"),
        ("D", 5, 6, "D000005"),
    ],
)
def test_format_number_pads_to_width(prefix: str, sequence: int, width: int, expected: str) -> None:
    assert format_number(prefix, sequence, width) == expected


def test_format_number_never_truncates_a_wider_sequence() -> None:
    assert format_number("A", 1000, 3) == "A1000"
    assert format_number("A", 123456, 2) == "A123456"


def test_service_day_uses_the_branch_time_zone() -> None:
    # 16:30 UTC on the 24th is 00:30 on the 25th in Shanghai (UTC+8)
    now = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)
    assert service_day(now, SHANGHAI) == date(2026, 11, 25)
    assert service_day(now, ZoneInfo("UTC")) == date(2026, 11, 24)
    assert service_day(now, ZoneInfo("America/New_York")) == date(2026, 11, 24)


def test_service_day_turns_at_local_midnight() -> None:
    midnight_shanghai = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert service_day(midnight_shanghai - timedelta(microseconds=1), SHANGHAI) == date(2026, 11, 24)
    assert service_day(midnight_shanghai, SHANGHAI) == date(2026, 11, 25)


def test_service_day_accepts_any_aware_datetime() -> None:
    eight_hours_ahead = timezone(timedelta(hours=8))
    now = datetime(2026, 11, 25, 0, 30, tzinfo=eight_hours_ahead)
    assert service_day(now, SHANGHAI) == date(2026, 11, 25)
    assert service_day(now, ZoneInfo("UTC")) == date(2026, 11, 24)


def test_service_day_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        service_day(datetime(2026, 11, 24, 16, 30), SHANGHAI)


def test_local_time_is_the_branch_wall_clock() -> None:
    assert local_time(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), SHANGHAI) == time(10, 0)
    assert local_time(datetime(2026, 11, 24, 16, 30, tzinfo=UTC), SHANGHAI) == time(0, 30)
