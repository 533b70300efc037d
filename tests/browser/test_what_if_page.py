"""The what-if page in Chromium: a manager comes from the staffing page, picks yesterday, adds a counter from 11:00
to 14:00, runs, and sees the three series (what happened, the replay, the replay with the counter) in the totals,
the chart and the hours; in both languages, on the tablet and the phone without sideways scrolling; a change that
cannot apply is refused with its reason; staff are not let in.

Yesterday is written straight into the server's database: bill payments and plan changes from 09:00 to 17:00 with a
midday peak, counters 2 and 3 open all day (2 paused 12:00-12:30); what happened is made by the replay engine itself
(its waits), every third customer giving up after 25 minutes; the day is recorded as closed."""

from __future__ import annotations

import json
import random
import secrets
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import create_engine, insert

from server.domain import replay
from server.domain.policy import PolicyRules
from server.domain.tickets import EventKind, PriorityClass
from server.persistence.tables import DayClose, DaySummary, TicketEvent, TicketRow
from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.test_manager import sign_in_as_manager

SHOTS = Path("/work/shots/what-if")
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
ZONE = ZoneInfo("Asia/Shanghai")
PER_HOUR = {"BILL": {9: 14, 10: 20, 11: 30, 12: 30, 13: 28, 14: 18, 15: 14, 16: 10},
            "PLAN": {9: 3, 10: 4, 11: 5, 12: 5, 13: 4, 14: 4, 15: 3, 16: 2}}
MEAN_SERVICE = {"BILL": 3.5, "PLAN": 8.0}


def write_yesterday(tmp_path: Path) -> str:
    """Yesterday's tickets, calls, counter events and its close; the day as YYYY-MM-DD."""
    day = datetime.now(ZONE).date() - timedelta(days=1)
    origin = datetime.combine(day, time(0), tzinfo=ZONE)
    rng = random.Random(5)
    made = []
    for service, per_hour in PER_HOUR.items():
        for hour, count in per_hour.items():
            for _ in range(count):
                made.append((hour * 60 + rng.uniform(0, 60), service, rng.expovariate(1 / MEAN_SERVICE[service])))
    made.sort()
    # every third customer would give up after 25 minutes
    tickets = [replay.DayTicket(i + 1, service, PriorityClass.NORMAL, issued,
                                replay.Ending.CANCELLED if i % 3 == 2 else replay.Ending.SERVED,
                                service_min=None if i % 3 == 2 else max(0.5, length),
                                left=issued + 25 if i % 3 == 2 else None)
               for i, (issued, service, length) in enumerate(made)]
    lengths = [max(0.5, length) for _, _, length in made]
    shifts = [replay.Shift("2", 540, 720, ("BILL", "PLAN")), replay.Shift("2", 750, 1020, ("BILL", "PLAN")),
              replay.Shift("3", 540, 1020, ("PLAN", "SIM", "BILL"))]
    day_model = replay.Day(origin, tuple(tickets), tuple(shifts), {"BILL": 10, "PLAN": 15}, MEAN_SERVICE)
    outcomes = replay.replay(day_model, shifts, PolicyRules())
    at = lambda minute: (origin + timedelta(minutes=minute)).astimezone(UTC)  # noqa: E731
    rows, events, seq = [], [], 10_000_000
    counts: dict[str, int] = {}
    for ticket, outcome, length in zip(tickets, outcomes, lengths, strict=True):
        ticket_id = 900_000 + ticket.ticket_id
        counts[ticket.service] = counts.get(ticket.service, 0) + 1
        row = {"id": ticket_id, "token": secrets.token_hex(16), "branch_code": BRANCH,
               "service_code": ticket.service, "issued_service_code": ticket.service, "service_day": day,
               "sequence": ticket.ticket_id, "number": f"W{ticket.ticket_id:04d}", "priority": "normal",
               "state": "done", "channel": "kiosk", "language": "zh-CN", "issued_at": at(ticket.issued),
               "queued_at": at(ticket.issued), "queue_key_us": 0, "transferred": False, "recall_count": 0,
               "version": 1, "called_at": None, "service_started_at": None, "finished_at": None,
               "cancelled_at": None, "counter_number": None}
        if outcome.ending is replay.Ending.CANCELLED:
            row.update(state="cancelled", cancelled_at=at(ticket.left or 0))
        elif outcome.called is None:
            row.update(state="expired")
        else:
            row.update(called_at=at(outcome.called), service_started_at=at(outcome.called),
                       finished_at=at(outcome.called + length), counter_number="2")
            seq += 1
            events.append({"branch_code": BRANCH, "seq": seq, "at": at(outcome.called), "kind": "called",
                           "ticket_id": ticket_id, "service_code": ticket.service, "counter_number": "2",
                           "data": None})
        rows.append(row)
    for shift in shifts:
        for minute, kind in ((shift.start, EventKind.COUNTER_SIGNED_IN if shift.start == 540
                              else EventKind.COUNTER_RESUMED),
                             (shift.end, EventKind.COUNTER_SIGNED_OUT if shift.end == 1020
                              else EventKind.COUNTER_PAUSED)):
            seq += 1
            events.append({"branch_code": BRANCH, "seq": seq, "at": at(minute), "kind": kind.value,
                           "ticket_id": None, "service_code": None, "counter_number": shift.counter,
                           "data": json.dumps({"services": list(shift.services)}) if kind.value.endswith("in")
                           else None})
    engine = create_engine(f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(insert(TicketRow.__table__), rows)
        connection.execute(insert(TicketEvent.__table__), events)
        connection.execute(insert(DayClose.__table__), [{"branch_code": BRANCH, "service_day": day,
                                                         "closed_at": at(24 * 60), "expired": 0, "signed_out": 0}])
        connection.execute(insert(DaySummary.__table__), [{"branch_code": BRANCH, "service_day": day,
                                                           "service_code": code, "issued": n}
                                                          for code, n in counts.items()])
    engine.dispose()
    return day.isoformat()


def look(page: Any, name: str) -> None:
    path = screenshot(page, name, full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{name}.png")


def test_a_manager_replays_yesterday_with_one_more_counter_at_midday(
        page: Any, hall_server: HallServer, tmp_path: Path) -> None:
    day = write_yesterday(tmp_path)
    sign_in_as_manager(page, hall_server, "en")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{hall_server.url}/manager/{BRANCH}/staffing?lang=en")
    link = page.locator("#what-if-link")
    expect(link.locator(".in-en")).to_be_visible()
    assert link.inner_text().strip() == "What-if"
    link.click()
    expect(page.locator("#what-if-board")).to_be_visible()
    expect(page.locator("select[name=day]")).to_have_value(day)
    expect(page.locator("select[name=day] option").first).to_contain_text("tickets")
    # the form starts on "one more counter, 11:00-14:00"; bill payments ticked
    expect(page.locator("select[name=kind]")).to_have_value("add_counter")
    page.fill("input[name=start]", "11:00")
    page.fill("input[name=end]", "14:00")
    page.click("#add-change")
    expect(page.locator("#changes li")).to_have_count(1)
    expect(page.locator("#changes li .what")).to_contain_text("11:00–14:00 one more counter serving")
    page.click("#run")
    expect(page.locator("#totals tbody tr")).to_have_count(3)
    expect(page.locator("#totals tbody th.run")).to_have_text(["Actual", "Replay", "With the changes"])
    waits = [float(t.split()[0]) for t in page.locator("#totals tbody td.wait").all_inner_texts()]
    assert waits[2] < waits[1], waits  # one more counter shortens the mean wait
    for run in replay_runs():
        expect(page.locator(f"#chart svg rect.bar.{run}")).to_have_count(16)  # 8 hours x 2 panels
    expect(page.locator("#hours tbody tr")).to_have_count(8)
    expect(page.locator("#hours tbody tr[data-key='12'] td.wait .line")).to_have_count(3)
    expect(page.locator("#summary")).to_contain_text("Took")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "what-if-tablet-en")

    page.click("#lang")
    expect(page.locator("#totals tbody th.run")).to_have_text(["实际", "模型重放", "改动后"])
    expect(page.locator("#changes li .what")).to_contain_text("加开一个窗口")
    expect(page.locator("#chart .panel-title").first).to_have_text("平均等候（分钟）")
    look(page, "what-if-tablet-zh")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "what-if-phone-zh")
    page.click("#lang")
    expect(page.locator("#hours thead th").first).to_have_text("Hour")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "what-if-phone-en")

    # a change the server cannot apply: its reason, naming the field
    page.select_option("select[name=kind]", "close_counter")
    page.fill("input[name=start]", "15:00")
    page.fill("input[name=end]", "14:00")
    page.click("#add-change")
    page.click("#run")
    expect(page.locator("#run-error")).to_contain_text("changes[1].start")
    assert page.js_errors == []


def replay_runs() -> list[str]:
    return ["actual", "replay", "what_if"]


def test_staff_are_not_let_in(page: Any, hall_server: HallServer) -> None:
    staff = hall_server.staff()
    page.context.add_cookies([{"name": c.name, "value": c.value or "", "url": hall_server.url} for c in staff.cookies])
    page.goto(f"{hall_server.url}/manager/{BRANCH}/what-if?lang=en")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-out-why")).to_have_text(
        "What-if is open to this branch's managers, administrators and its region's readers.")
