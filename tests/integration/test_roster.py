"""Rosters on a real database (SQLite): the service (entries added, edited, deleted and copied, each audited; the
staffing advice planning from the day's roster) and the HTTP API (who may read and change it, and a 4xx naming the
field for bad input)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.domain.audit import AuditAction
from server.domain.errors import DomainError, NotAllowed
from server.domain.roster import CounterChangeKind, EntryKind, Shift, local_instant
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_api import build_app
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
MANAGER = Actor("manager", "manager")
REGIONAL = Actor("region.sz", "regional")
TODAY = date(2026, 11, 24)  # the fake clock's day, a Tuesday
HOLIDAY = TODAY + timedelta(weeks=2)
B = f"/api/branches/{BRANCH}"


def set_up(data: dict[str, Any]) -> None:
    """A second branch with its own manager, a regional reader of Futian's region, and a holiday."""
    other = copy.deepcopy(data["branches"][0])
    other["code"], other["region"] = OTHER, "GD-GZ"
    data["branches"].append(other)
    hashes = {a["username"]: a["password_hash"] for a in data["staff"]}
    data["staff"].append({"username": "region.sz", "display_name": "区域 Region", "role": "regional",
                          "regions": ["GD-SZ"], "password_hash": hashes["zhang.wei"]})
    data["staff"].append({"username": "gz.manager", "display_name": "广州经理", "role": "manager",
                          "branches": [OTHER], "password_hash": hashes["manager"]})
    for account in data["staff"]:
        if account["username"] == "li.na":
            account["branches"] = [OTHER]
    data["branches"][0]["exceptions"] = [{"date": HOLIDAY, "hours": "closed"}]


@pytest.fixture
def hall(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    return build_service(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, clock, publisher, more=set_up)


def work(person: str, counter: str, start: int, end: int, *services: str) -> Shift:
    return Shift(person, start * 60, end * 60, EntryKind.WORK, counter, services)


def audited(hall: HallService) -> list[Any]:
    return hall.audit.search(MANAGER, AuditFilter(actions=(AuditAction.ROSTER_CHANGED,)))


def test_entries_are_added_edited_and_deleted_each_audited(hall: HallService) -> None:
    added = hall.roster.add(BRANCH, MANAGER, TODAY, work("zhang.wei", "2", 9, 13))
    assert added["services"] == ["BILL", "PLAN"] and added["start"] == "09:00" and added["end"] == "13:00"
    hall.roster.add(BRANCH, MANAGER, TODAY, Shift("zhang.wei", 13 * 60, 14 * 60, EntryKind.BREAK))
    with pytest.raises(DomainError) as clash:
        hall.roster.add(BRANCH, MANAGER, TODAY, work("wang.fang", "2", 12, 15))
    assert clash.value.code == "shift_clash" and clash.value.http_status == 409
    assert clash.value.details["field"] == "counter"
    with pytest.raises(DomainError) as stranger:
        hall.roster.add(BRANCH, MANAGER, TODAY, work("li.na", "3", 9, 10))  # works at the other branch
    assert stranger.value.details["field"] == "username"
    edited = hall.roster.edit(BRANCH, MANAGER, added["id"], work("zhang.wei", "2", 9, 12, "PLAN"))
    assert edited["services"] == ["PLAN"] and edited["end"] == "12:00"
    day = hall.roster.day(BRANCH, REGIONAL, TODAY)
    assert [(s["username"], s["kind"], s["start"]) for s in day["shifts"]] == [
        ("zhang.wei", "work", "09:00"), ("zhang.wei", "break", "13:00")]
    assert day["shifts"][0]["display_name"] == "张伟 Zhang Wei" and not day["may_edit"]
    assert "li.na" not in {p["username"] for p in day["people"]}
    hall.roster.delete(BRANCH, MANAGER, added["id"])
    with pytest.raises(DomainError) as gone:
        hall.roster.delete(BRANCH, MANAGER, added["id"])
    assert gone.value.code == "unknown_shift" and gone.value.http_status == 404
    entries = audited(hall)
    assert [(e.before is None, e.after is None) for e in reversed(entries)] == [
        (True, False), (True, False), (False, False), (False, True)]
    assert entries[1].before["end"] == "13:00" and entries[1].after == {
        "date": "2026-11-24", "kind": "work", "staff": "zhang.wei", "counter": "2", "services": ["PLAN"],
        "start": "09:00", "end": "12:00"}
    assert entries[0].target == f"shift {added['id']}"


def test_only_the_branchs_managers_change_it_and_its_readers_read_it(hall: HallService) -> None:
    for actor in (Actor("zhang.wei", "staff"), REGIONAL, Actor("gz.manager", "manager")):
        with pytest.raises(NotAllowed):
            hall.roster.add(BRANCH, actor, TODAY, work("zhang.wei", "2", 9, 13))
    with pytest.raises(NotAllowed):
        hall.roster.day(BRANCH, Actor("zhang.wei", "staff"), TODAY)
    hall.roster.add(BRANCH, Actor("admin", "admin"), TODAY, work("zhang.wei", "2", 9, 13))
    assert hall.roster.day(BRANCH, Actor("admin", "admin"), TODAY)["may_edit"]


def test_a_day_is_copied_to_the_next_weeks_skipping_a_closed_day(hall: HallService) -> None:
    hall.roster.add(BRANCH, MANAGER, TODAY, work("zhang.wei", "2", 9, 13))
    hall.roster.add(BRANCH, MANAGER, TODAY, work("wang.fang", "3", 10, 18, "SIM"))
    next_week = TODAY + timedelta(weeks=1)
    hall.roster.add(BRANCH, MANAGER, next_week, work("zhou.min", "5", 9, 10))  # replaced by the copy
    copied = hall.roster.copy(BRANCH, MANAGER, TODAY, weeks=3, days=[TODAY + timedelta(days=1)])
    assert copied["copied"] == [d.isoformat() for d in (TODAY + timedelta(days=1), next_week,
                                                        TODAY + timedelta(weeks=3))]
    assert copied["skipped_closed"] == [HOLIDAY.isoformat()] and copied["shifts"] == 2
    again = hall.roster.day(BRANCH, MANAGER, next_week)["shifts"]
    assert [(s["username"], s["counter"], s["services"]) for s in again] == [
        ("zhang.wei", "2", ["BILL", "PLAN"]), ("wang.fang", "3", ["SIM"])]
    with pytest.raises(DomainError) as empty:
        hall.roster.copy(BRANCH, MANAGER, TODAY + timedelta(days=2), weeks=1)
    assert empty.value.code == "empty_roster"
    assert audited(hall)[0].after == {"copied_to": copied["copied"], "shifts": 2}


def test_the_advice_plans_from_the_days_roster_and_falls_back_to_the_counters(hall: HallService) -> None:
    day = TODAY + timedelta(days=1)
    before = hall.staffing.advice(BRANCH, MANAGER, day)
    assert before["planned_source"] == "configured"
    assert {h["planned"] for h in before["hours"]} == {8}
    hall.roster.add(BRANCH, MANAGER, day, work("zhang.wei", "2", 9, 13))
    hall.roster.add(BRANCH, MANAGER, day, Shift("wang.fang", 9 * 60, 10 * 60 + 15, EntryKind.WORK, "3", ("SIM",)))
    after = hall.staffing.advice(BRANCH, MANAGER, day)
    by_hour = {h["hour"]: h for h in after["hours"]}
    assert after["planned_source"] == "roster"
    assert by_hour[9]["planned"] == 2 and by_hour[10]["planned"] == 1  # 10:00-10:15 is less than half the hour
    assert by_hour[13]["planned"] == 0 and by_hour[8]["planned"] == 0
    sim = next(p for p in by_hour[9]["pools"] if "SIM" in p["services"])
    assert sim["counters"] == ["3"]
    # a day with breaks only plans nothing from them: the counters are still the source
    hall.roster.add(BRANCH, MANAGER, day + timedelta(days=1), Shift("zhou.min", 600, 660, EntryKind.BREAK))
    assert hall.staffing.advice(BRANCH, MANAGER, day + timedelta(days=1))["planned_source"] == "configured"


def test_counters_rostered_to_open_or_close_soon(hall: HallService) -> None:
    hall.roster.add(BRANCH, MANAGER, TODAY, work("zhang.wei", "2", 11, 13))
    hall.roster.add(BRANCH, MANAGER, TODAY, work("wang.fang", "3", 9, 11, "SIM"))
    zone = hall.config.branch(BRANCH).timezone
    soon = hall.roster.changes_ahead(BRANCH, local_instant(zone, TODAY, 10 * 60 + 30), timedelta(hours=1))
    assert [(c.counter, c.kind, c.services) for c in soon] == [
        ("2", CounterChangeKind.OPEN, ("BILL", "PLAN")), ("3", CounterChangeKind.CLOSE, ("SIM",))]


# --- over HTTP -------------------------------------------------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=set_up)
    yield from build_app(config, clock, publisher)


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/api/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return client


SHIFT = {"date": "2026-11-24", "username": "zhang.wei", "counter": "2", "start": "09:00", "end": "12:30"}


def test_the_api_lets_managers_change_and_readers_read(app: Flask) -> None:
    manager = signed_in(app, "manager", "demo-manager")
    created = manager.post(f"{B}/roster/shifts", json=SHIFT)
    assert created.status_code == 201, created.get_json()
    shift_id = created.get_json()["id"]
    regional = signed_in(app, "region.sz", "demo-staff")
    assert regional.get(f"{B}/roster?date=2026-11-24").get_json()["shifts"][0]["id"] == shift_id
    assert regional.post(f"{B}/roster/shifts", json=SHIFT).status_code == 403
    assert regional.delete(f"{B}/roster/shifts/{shift_id}").status_code == 403
    staff = signed_in(app, "zhang.wei", "demo-staff")
    assert staff.get(f"{B}/roster").status_code == 403
    assert staff.post(f"{B}/roster/shifts", json=SHIFT).status_code == 403
    elsewhere = signed_in(app, "gz.manager", "demo-manager")
    assert elsewhere.put(f"{B}/roster/shifts/{shift_id}", json={**SHIFT, "date": None}).status_code in (403, 422)
    assert elsewhere.get(f"{B}/roster").status_code == 403
    assert app.test_client().get(f"{B}/roster").status_code == 401
    assert app.test_client().post(f"{B}/roster/shifts", json=SHIFT).status_code == 401
    body = {k: v for k, v in SHIFT.items() if k != "date"}
    changed = manager.put(f"{B}/roster/shifts/{shift_id}", json={**body, "end": "13:00", "services": ["BILL"]})
    assert changed.status_code == 200 and changed.get_json()["services"] == ["BILL"]
    copied = manager.post(f"{B}/roster/copy", json={"date": "2026-11-24", "weeks": 1})
    assert copied.status_code == 200 and copied.get_json()["copied"] == ["2026-12-01"]
    assert manager.delete(f"{B}/roster/shifts/{shift_id}").get_json() == {"deleted": shift_id}
    assert manager.delete(f"{B}/roster/shifts/{shift_id}").status_code == 404
    advice = manager.get(f"{B}/staffing?date=2026-12-01").get_json()
    assert advice["planned_source"] == "roster"


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"start": "9:10"}, 400, "start"),
    ({"end": "25:00"}, 400, "end"),
    ({"end": "08:00"}, 400, "end"),
    ({"counter": "99"}, 400, "counter"),
    ({"services": ["VIP"]}, 400, "services"),
    ({"username": "nobody"}, 400, "username"),
    ({"kind": "break"}, 400, "counter"),
    ({"date": "2026-12-08"}, 400, "date"),  # the holiday
])
def test_bad_input_is_refused_naming_the_field(app: Flask, change: dict[str, Any], status: int, field: str) -> None:
    manager = signed_in(app, "manager", "demo-manager")
    refused = manager.post(f"{B}/roster/shifts", json={**SHIFT, **change})
    assert refused.status_code == status, refused.get_json()
    assert refused.get_json()["details"]["field"] == field
    assert field in refused.get_json()["message"]


def test_malformed_bodies_and_days_are_refused(app: Flask) -> None:
    manager = signed_in(app, "manager", "demo-manager")
    for body, field in (({**SHIFT, "date": "someday"}, "date"), ({**SHIFT, "start": 900}, "start"),
                        ({**SHIFT, "colour": "red"}, "colour"), ({"date": "2026-11-24", "weeks": 9}, "weeks")):
        url = f"{B}/roster/copy" if "weeks" in body else f"{B}/roster/shifts"
        refused = manager.post(url, json=body)
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["details"]["problems"][0]["field"] == field
    assert manager.get(f"{B}/roster?date=2027-06-01").get_json()["error"] == "date_too_far"
    assert manager.post(f"{B}/roster/shifts", json=SHIFT).status_code == 201
    clash = manager.post(f"{B}/roster/shifts", json={**SHIFT, "counter": "3"})
    assert clash.status_code == 409 and clash.get_json()["details"]["field"] == "start"
    copy_nothing = manager.post(f"{B}/roster/copy", json={"date": "2026-11-24"})
    assert copy_nothing.status_code == 400 and copy_nothing.get_json()["details"]["field"] == "days"
