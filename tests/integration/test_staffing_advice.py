"""The staffing advice on a real database (SQLite and PostgreSQL), from history made by the service layer.

The clock goes back six weeks and issues, every Tuesday, 4 BILL tickets between 09:00 and 10:00 and 2 PLAN tickets
between 10:00 and 11:00 (Shanghai), and serves the BILL ones (5 minutes each); one of those Tuesdays is a branch
holiday, which the history skips.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.domain.errors import DomainError, NotAllowed, Unauthenticated
from server.domain.tickets import Action
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
MANAGER = Actor("manager", "manager")
ZHANG = Actor("zhang.wei", "staff")  # counter 2: BILL, PLAN
TARGET = date(2026, 11, 24)  # a Tuesday: the clock's day
HOLIDAY = date(2026, 11, 10)


def hours(data: dict[str, Any]) -> None:
    for branch in data["branches"]:
        branch["hours"] = "09:00-18:00"
        if branch["code"] == BRANCH:
            branch["exceptions"] = [{"date": HOLIDAY, "hours": "closed"},
                                    {"date": date(2026, 12, 1), "hours": "closed"}]


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    return build_service(database_url, tmp_path, clock, publisher, more=hours)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` in Shanghai on ``day``, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def make_history(hall: HallService, clock: FakeClock) -> None:
    for weeks in range(6, 0, -1):
        day = TARGET - timedelta(weeks=weeks)
        if day == HOLIDAY:
            continue
        for i in range(4):
            clock.now = at(day, 9, 5 + 10 * i)
            ticket = hall.tickets.issue(BRANCH, "BILL")
            if i == 0:
                hall.counters.sign_in(BRANCH, "2", ZHANG)
            called = hall.counters.call_ticket(BRANCH, "2", ticket["id"], ZHANG)["ticket"]["id"]
            hall.tickets.act(BRANCH, called, Action.START, ZHANG)
            clock.now += timedelta(minutes=5)
            hall.tickets.act(BRANCH, called, Action.FINISH, ZHANG)
        for i in range(2):
            clock.now = at(day, 10, 15 + 20 * i)
            hall.tickets.issue(BRANCH, "PLAN")
    clock.now = at(TARGET, 8, 30)
    hall.days.end_due(BRANCH)


def test_the_advice_forecasts_each_hour_from_the_same_weekday_and_counts_counters(
        hall: HallService, clock: FakeClock) -> None:
    make_history(hall, clock)
    advice = hall.staffing.advice(BRANCH, MANAGER, TARGET)
    assert advice["today"] and not advice["closed"]
    assert advice["history_days"] == [(TARGET - timedelta(weeks=w)).isoformat() for w in (1, 3, 4, 5, 6)]
    assert [h["hour"] for h in advice["hours"]] == list(range(9, 18))
    by_hour = {h["hour"]: h for h in advice["hours"]}
    bill_9 = next(s for s in by_hour[9]["services"] if s["code"] == "BILL")
    assert bill_9["arrivals"] == pytest.approx(4)
    assert bill_9["low"] <= 4 <= bill_9["high"]
    plan_10 = next(s for s in by_hour[10]["services"] if s["code"] == "PLAN")
    assert plan_10["arrivals"] == pytest.approx(2)
    assert by_hour[12]["arrivals"] == 0 and by_hour[12]["needed"] == 0
    bill = next(s for s in advice["services"] if s["code"] == "BILL")
    assert bill["service_min_source"] == "history" and bill["service_min"] == pytest.approx(5)
    plan = next(s for s in advice["services"] if s["code"] == "PLAN")
    assert plan["service_min_source"] == "configured" and plan["service_min"] == 8
    assert by_hour[9]["needed"] >= 1
    assert by_hour[9]["planned"] == len(hall.config.branch(BRANCH).counters)
    assert not by_hour[9]["short"]
    # today, from the current hour on: counters signed in now (ZHANG signed out when the days ended)
    assert by_hour[9]["open"] == 0 and by_hour[9]["open_short"] is True


def test_a_closed_day_has_no_hours_and_a_day_without_history_forecasts_zero(
        hall: HallService, clock: FakeClock) -> None:
    closed = hall.staffing.advice(BRANCH, MANAGER, date(2026, 12, 1))
    assert closed["closed"] and closed["hours"] == [] and closed["short_hours"] == 0
    empty = hall.staffing.advice(BRANCH, MANAGER, date(2026, 12, 2))
    assert empty["history_days"] == []
    assert all(h["arrivals"] == 0 and h["needed"] == 0 and h["open"] is None for h in empty["hours"])


def test_a_small_roster_is_short_where_a_service_has_too_few_counters(hall: HallService, clock: FakeClock) -> None:
    make_history(hall, clock)

    class OneCounter:
        def planned(self, branch: Any, day: date, hour: int) -> dict[str, tuple[str, ...]]:
            return {"4": ("PLAN", "BROADBAND")}

    hall.staffing.roster = OneCounter()
    advice = hall.staffing.advice(BRANCH, MANAGER, TARGET + timedelta(weeks=2))
    by_hour = {h["hour"]: h for h in advice["hours"]}
    assert by_hour[9]["short"]  # nobody planned serves BILL
    bill_pool = next(p for p in by_hour[9]["pools"] if "BILL" in p["services"])
    assert bill_pool["planned"] == 0 and {"services": ["BILL"], "needed": 1, "eligible": 0} in bill_pool["shortfalls"]
    assert by_hour[9]["open"] is None  # not today


@pytest.mark.parametrize(("day", "code"), [(TARGET - timedelta(days=366), "date_too_early"),
                                           (TARGET + timedelta(days=61), "date_too_far")])
def test_days_out_of_reach_are_refused(hall: HallService, day: date, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        hall.staffing.advice(BRANCH, MANAGER, day)
    assert refused.value.code == code and refused.value.http_status == 400
    hall.staffing.advice(BRANCH, MANAGER, TARGET - timedelta(days=365))
    hall.staffing.advice(BRANCH, MANAGER, TARGET + timedelta(days=60))


def test_only_readers_of_the_figures_get_the_advice(hall: HallService) -> None:
    with pytest.raises(NotAllowed):
        hall.staffing.advice(BRANCH, ZHANG, TARGET)
    with pytest.raises(Unauthenticated):
        hall.staffing.advice(BRANCH, Actor(None, "public"), TARGET)
