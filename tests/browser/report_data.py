"""Closed days for the reports page's tests and screenshots: a few days of random traffic at two counters (arrivals,
calls, no-shows, cancellations, services, ratings with reasons) run through the service layer on a clock set to
the days before today, each day ended as the day end does (its figures folded for the reports), into the SQLite
file a server process then opens; and a regional reader of the demo branch's region in that server's configuration.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from server.launcher import write_config
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.booking import BookingService
from tests.browser.conftest import BRANCH
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_reports import random_day
from tests.support import FakeClock

ZONE = ZoneInfo("Asia/Shanghai")
REGIONAL = ("region.sz", "demo-manager")  # the manager's demo password, so that no new hash is needed


def seed_closed_days(tmp_path: Path, days: int) -> None:
    """``days`` closed days ending yesterday (Shanghai), into ``tmp_path / hall.sqlite3``, each with a few
    appointments (checked in, cancelled, never come)."""
    clock = FakeClock()
    hall = build_service(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, clock, RecordingPublisher())
    bookings = BookingService(hall.config, hall.uow, AuditLog(hall.config, hall.uow, clock), clock,
                              tickets=hall.tickets)
    today = datetime.now(ZONE).date()
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        clock.now = datetime(day.year, day.month, day.day, 9, 30, tzinfo=ZONE).astimezone(UTC)
        book_some(bookings, clock.now, offset)
        random_day(hall, clock, seed=offset)
    hall.uow.engine.dispose()


def book_some(bookings: BookingService, now: datetime, seed: int) -> None:
    """A day's PLAN appointments at 09:30 (the random days' tickets are BILL and PLAN): some checked in at once
    (early, held to their slot), some cancelled, the rest never come (no-shows when the day ends)."""
    rng = random.Random(seed)
    for n in range(rng.randint(3, 7)):
        cancel = rng.random() < 0.2
        # a cancellation must come before the change cut-off: those are booked for the afternoon
        start = now + timedelta(minutes=30 * (1 + n // 2) + (300 if cancel else 0))
        phone = f"1380000{seed:02d}{n:02d}"
        made = bookings.book(BRANCH, "PLAN", start, phone=phone, name=None, consent=True, language="zh-CN",
                             actor=Actor(None))
        if cancel:
            bookings.cancel(made["code"], phone)
        elif n < 2 and rng.random() < 0.8:
            bookings.check_in(BRANCH, code=made["code"])


def config_with_regional(tmp_path: Path) -> Path:
    """The demo configuration for a server on ``tmp_path``'s database, with a regional account for GD-SZ."""
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    text = path.read_text(encoding="utf-8")
    manager_hash = re.search(r'username = "manager"\s*\ndisplay_name = "[^"]*"\s*\npassword_hash = "([^"]+)"',
                             text)
    assert manager_hash is not None
    text += (f'\n[[staff]]\nusername = "{REGIONAL[0]}"\ndisplay_name = "区域 Region South"\n'
             f'password_hash = "{manager_hash.group(1)}"\nrole = "regional"\nregions = ["GD-SZ"]\n')
    path.write_text(text, encoding="utf-8")
    return path
