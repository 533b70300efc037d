"""The staffing advice page in Chromium: a manager opens it from the manager page, sees each hour's forecast,
counters needed and planned with the short hours marked, and a bar chart, in both languages, on the tablet and the
phone without sideways scrolling; a bad day is refused with a reason; staff are not let in.

History is written straight into the server's database: six past weeks of the same weekday as today, with a
morning and an afternoon peak of bill payments that the three counters serving BILL cannot meet."""

from __future__ import annotations

import re
import secrets
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import create_engine, insert

from server.persistence.tables import TicketRow
from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.test_manager import sign_in_as_manager

SHOTS = Path("/work/shots/staffing")
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
ZONE = ZoneInfo("Asia/Shanghai")
BILL_PER_HOUR = {9: 20, 10: 45, 11: 70, 12: 30, 13: 25, 14: 40, 15: 65, 16: 45, 17: 25, 18: 15, 19: 10, 20: 5}
PLAN_PER_HOUR = {9: 4, 10: 8, 11: 10, 12: 6, 13: 5, 14: 8, 15: 10, 16: 8, 17: 5, 18: 3, 19: 2, 20: 1}


def write_history(server: HallServer, tmp_path: Path) -> None:
    today = datetime.now(ZONE).date()
    rows = []
    for weeks in range(1, 7):
        day = today - timedelta(weeks=weeks)
        sequence = 0
        for service, prefix, per_hour in (("BILL", "A", BILL_PER_HOUR), ("PLAN", "B", PLAN_PER_HOUR)):
            for hour, count in per_hour.items():
                for i in range(count + (weeks % 3) - 1):  # some spread between the weeks
                    sequence += 1
                    at = datetime(day.year, day.month, day.day, hour, (i * 53) % 60, tzinfo=ZONE).astimezone(UTC)
                    rows.append(_ticket(day, service, f"{prefix}{sequence:04d}", sequence, at))
    engine = create_engine(f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(insert(TicketRow.__table__), rows)
    engine.dispose()


def _ticket(day: date, service: str, number: str, sequence: int, at: datetime) -> dict[str, Any]:
    return {"token": secrets.token_hex(16), "branch_code": BRANCH, "service_code": service,
            "issued_service_code": service, "service_day": day, "sequence": sequence, "number": number,
            "priority": "normal", "state": "done", "channel": "kiosk", "language": "zh-CN", "issued_at": at,
            "queued_at": at, "queue_key_us": 0, "finished_at": at, "transferred": False, "recall_count": 0,
            "version": 1}


def look(page: Any, name: str) -> None:
    path = screenshot(page, name, full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{name}.png")


def test_a_manager_sees_the_hours_short_of_counters_in_both_languages(
        page: Any, hall_server: HallServer, tmp_path: Path) -> None:
    write_history(hall_server, tmp_path)
    sign_in_as_manager(page, hall_server, "en")
    link = page.locator("#staffing-link")
    expect(link).to_have_text("Staffing advice")
    page.set_viewport_size({"width": 1280, "height": 800})
    link.click()
    expect(page.locator("#staffing-board")).to_be_visible()
    rows = page.locator("#hours tbody tr:not(.note-row)")
    expect(rows).to_have_count(24)  # the test hall is open all day
    eleven = page.locator("#hours tbody tr[data-hour='11']")  # its note is in the row and, for phones, below it
    expect(eleven).to_have_class(re.compile(r"(^|\s)short(\s|$)"))  # (and open-short while 11:00 is yet to come)
    expect(eleven.locator("td.note")).to_contain_text("Short: Bill payment & top-up need")
    assert float(eleven.locator("td").nth(1).inner_text()) > 60
    expect(page.locator("#hours tbody tr[data-hour='3']")).not_to_have_class(re.compile(r"(^|\s)short(\s|$)"))
    expect(page.locator("#chart svg rect.arrivals")).to_have_count(24)
    expect(page.locator("#summary")).to_contain_text("From 6 past days")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "staffing-tablet-en")

    page.click("#lang")
    expect(page.locator("#hours thead th").first).to_have_text("时段")
    expect(eleven.locator("td.note strong")).to_have_text("窗口不足")
    look(page, "staffing-tablet-zh")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    expect(page.locator("#hours tr.note-row").first).to_be_visible()
    expect(eleven.locator("td.note")).to_be_hidden()
    look(page, "staffing-phone-zh")
    page.click("#lang")
    expect(page.locator("#hours thead th").first).to_have_text("Hour")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "staffing-phone-en")

    page.fill("input[name=date]", (datetime.now(ZONE).date() + timedelta(days=90)).isoformat())
    page.click("#day-form button[type=submit]")
    expect(page.locator("#day-error")).to_have_text("The day must be at most 60 days ahead")
    assert page.js_errors == []


def test_staff_are_not_let_in(page: Any, hall_server: HallServer) -> None:
    staff = hall_server.staff()
    page.context.add_cookies([{"name": c.name, "value": c.value or "", "url": hall_server.url} for c in staff.cookies])
    page.goto(f"{hall_server.url}/manager/{BRANCH}/staffing?lang=en")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-out-why")).to_have_text(
        "Staffing advice is open to this branch's managers, administrators and its region's readers.")
