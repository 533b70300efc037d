"""Closed days for the reports page's tests and screenshots: a few days of random traffic at two counters (arrivals,
calls, no-shows, cancellations, services, ratings with reasons) run through the service layer on a clock set to
the days before today, each day ended as the day end does (its figures folded for the reports), into the SQLite
file a server process then opens; and a regional reader of the demo branch's region in that server's configuration.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from server.launcher import write_config
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_reports import random_day
from tests.support import FakeClock

ZONE = ZoneInfo("Asia/Shanghai")
REGIONAL = ("region.sz", "demo-manager")  # the manager's demo password, so that no new hash is needed


def seed_closed_days(tmp_path: Path, days: int) -> None:
    """``days`` closed days ending yesterday (Shanghai), into ``tmp_path / hall.sqlite3``."""
    clock = FakeClock()
    hall = build_service(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, clock, RecordingPublisher())
    today = datetime.now(ZONE).date()
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        clock.now = datetime(day.year, day.month, day.day, 9, 30, tzinfo=ZONE).astimezone(UTC)
        random_day(hall, clock, seed=offset)
    hall.uow.engine.dispose()


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
