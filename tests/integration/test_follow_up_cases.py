"""Follow-up cases: the service layer (SQLite and PostgreSQL), the overdue alert, the report section, then the API
(bad input, who may do what)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.app import create_app
from server.domain.audit import AuditAction
from server.domain.errors import DomainError
from server.domain.privacy import ContactGiven
from server.domain.reports import Group, Section
from server.domain.tickets import Action, EventKind
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.follow_ups import FollowUpService
from server.services.hall import HallService
from server.services.live import LiveHall
from server.services.privacy import PrivacyService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_live import RecordingLivePublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
B = f"/api/branches/{BRANCH}"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")
MANAGER = Actor("manager", "manager")
REGIONAL = Actor("region.sz", "regional")
STAFF_PASSWORD = "demo-staff"
MANAGER_PASSWORD = "demo-manager"
WORDS = "the bill charged me twice WORDS-77a1"


def refused(code: str) -> Any:
    return pytest.raises(DomainError, check=lambda e: e.code == code)


def more_branches(data: dict[str, Any]) -> None:
    """A second branch (another region) with its own staff member, and a regional reader of SZ-FUTIAN's region."""
    other = copy.deepcopy(data["branches"][0])
    other["code"], other["region"] = OTHER, "GD-GZ"
    data["branches"].append(other)
    accounts = {a["username"]: a for a in data["staff"]}
    data["staff"] += [
        {**accounts["zhang.wei"], "username": "other.staff", "display_name": "Other Staff", "branches": [OTHER]},
        {"username": "region.sz", "display_name": "区域 Region", "role": "regional", "regions": ["GD-SZ"],
         "password_hash": accounts["zhang.wei"]["password_hash"]},
    ]


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, publisher, more=more_branches)
    service.counters.sign_in(BRANCH, "2", ZHANG)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def audit(hall: HallService, clock: FakeClock) -> AuditLog:
    return AuditLog(hall.config, hall.uow, clock)


@pytest.fixture
def cases(hall: HallService, audit: AuditLog, clock: FakeClock) -> FollowUpService:
    return FollowUpService(hall.config, hall.uow, clock, audit)


def serve(hall: HallService, clock: FakeClock) -> dict[str, Any]:
    ticket = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.call_ticket(BRANCH, "2", ticket["id"], ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.START, ZHANG)
    clock.advance(minutes=3)
    return ticket


def actions_logged(audit: AuditLog) -> list[str]:
    wanted = (AuditAction.COMPLAINT_RECORDED, AuditAction.CASE_ASSIGNED, AuditAction.CASE_STATUS_CHANGED,
              AuditAction.CASE_RESOLVED, AuditAction.CASE_REOPENED)
    return [e.action.value for e in reversed(audit.search(MANAGER, AuditFilter(actions=wanted), limit=100))]


def test_a_complaint_goes_round_the_loop(hall: HallService, cases: FollowUpService, audit: AuditLog,
                                         clock: FakeClock, publisher: RecordingPublisher) -> None:
    ticket = serve(hall, clock)
    opened_at = clock.now
    case = cases.record_complaint(BRANCH, ZHANG, category="fees", words=f"  {WORDS}  ", ticket_id=ticket["id"],
                                  counter="2", call_back=ContactGiven.with_consent("138 1234 5678", "王女士", True))
    assert (case["source"], case["state"], case["category"], case["customer_words"]) == (
        "complaint", "open", "fees", WORDS)
    assert case["ticket"]["number"] == ticket["number"] and case["counter"] == "2"
    assert case["due_at"] == (opened_at + timedelta(hours=24)).isoformat() and case["overdue"] is False
    assert case["contact"]["phone"] == "138****5678"
    assert case["actions"] == ["start", "resolve"]
    assert [e["kind"] for e in case["thread"]] == ["recorded"]

    with refused("not_owner"):  # nobody owns it yet: staff may not work on it
        cases.add_note(BRANCH, case["id"], LI, "called")
    with refused("manager_only"):
        cases.assign(BRANCH, case["id"], ZHANG, "li.na")
    with refused("unknown_owner"):
        cases.assign(BRANCH, case["id"], MANAGER, "other.staff")  # works at another branch
    cases.assign(BRANCH, case["id"], MANAGER, "zhang.wei")
    cases.assign(BRANCH, case["id"], MANAGER, "li.na")  # reassigned
    clock.advance(hours=1)
    noted = cases.add_note(BRANCH, case["id"], LI, "called, no answer; will try at 5")
    started = cases.start(BRANCH, case["id"], LI)
    assert started["state"] == "in_progress" and started["actions"] == ["resolve"]
    with refused("bad_transition"):
        cases.start(BRANCH, case["id"], LI)
    with refused("bad_outcome"):
        cases.resolve(BRANCH, case["id"], LI, "shrugged", "done")
    with refused("bad_note"):
        cases.resolve(BRANCH, case["id"], LI, "fixed", "   ")
    clock.advance(hours=2)
    resolved = cases.resolve(BRANCH, case["id"], LI, "fixed", "refunded the second charge")
    assert (resolved["state"], resolved["outcome"], resolved["owner"]) == ("resolved", "fixed", "li.na")
    assert resolved["time_to_resolve_s"] == 3 * 3600 and resolved["actions"] == ["reopen"]
    assert resolved["outcome_text"] == {"zh-CN": "问题已处理", "en": "Problem put right"}
    with refused("already_resolved"):
        cases.assign(BRANCH, case["id"], MANAGER, "zhang.wei")
    with refused("manager_only"):
        cases.reopen(BRANCH, case["id"], LI, "customer called again")
    with refused("bad_reason"):
        cases.reopen(BRANCH, case["id"], MANAGER, " ")

    clock.advance(hours=30)
    reopened = cases.reopen(BRANCH, case["id"], MANAGER, "the refund did not arrive")
    assert (reopened["state"], reopened["outcome"], reopened["resolved_at"]) == ("open", None, None)
    assert reopened["due_at"] == (clock.now + timedelta(hours=24)).isoformat()  # a fresh answer is owed
    assert [e["kind"] for e in reopened["thread"]] == [
        "recorded", "assigned", "assigned", "note", "started", "resolved", "reopened"]
    assert reopened["thread"][2]["text"] == "李娜 Li Na"  # the new owner, as a person reads it
    assert reopened["thread"][3] == {**noted["thread"][3]}
    assert actions_logged(audit) == ["complaint_recorded", "case_assigned", "case_assigned", "case_status_changed",
                                     "case_resolved", "case_reopened"]
    entries = audit.search(MANAGER, AuditFilter(actions=(AuditAction.CASE_ASSIGNED,)), limit=5)
    assert (entries[0].before, entries[0].after) == ({"owner": "zhang.wei"}, {"owner": "li.na"})
    assert all(WORDS not in str(e.after) for e in audit.search(MANAGER, AuditFilter(), limit=100))
    kinds = [e["kind"] for e in publisher.events if e["kind"].startswith("follow_up")]
    assert kinds == ["follow_up_opened", "follow_up_assigned", "follow_up_assigned", "follow_up_changed",
                     "follow_up_changed", "follow_up_resolved", "follow_up_changed"]


def test_a_dissatisfied_rating_opens_a_case_due_in_answer_hours(hall: HallService, cases: FollowUpService,
                                                                clock: FakeClock) -> None:
    ticket = serve(hall, clock)
    hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, ZHANG)
    RatingService(hall.config, hall.uow, clock=clock).rate_by_token(ticket["token"], 1, reasons=["SLOW"])
    [case] = cases.cases(BRANCH, MANAGER)["follow_ups"]
    assert (case["source"], case["score"], case["category"]) == ("rating", 1, None)
    assert case["due_at"] == (clock.now + timedelta(hours=24)).isoformat()


def test_filters_and_the_overdue_alert(hall: HallService, cases: FollowUpService, clock: FakeClock) -> None:
    pushed = RecordingLivePublisher()
    live = LiveHall(hall.config, hall.uow, clock, publisher=pushed)
    first = cases.record_complaint(BRANCH, MANAGER, category="wait", words="waited an hour")
    clock.advance(hours=2)
    second = cases.record_complaint(BRANCH, ZHANG, category="staff", words="rude")
    cases.assign(BRANCH, second["id"], MANAGER, "manager")
    live.refresh(BRANCH)
    assert pushed.summaries[-1]["private"]["alerts"] == []

    clock.advance(hours=22, minutes=30)  # the first is 30 min past due, the second not yet
    listed = cases.cases(BRANCH, MANAGER, show="overdue")
    assert [c["id"] for c in listed["follow_ups"]] == [first["id"]] and listed["overdue"] == 1
    assert [c["id"] for c in cases.cases(BRANCH, MANAGER, show="mine")["follow_ups"]] == [second["id"]]
    assert [c["id"] for c in cases.cases(BRANCH, MANAGER)["follow_ups"]] == [first["id"], second["id"]]
    assert cases.cases(BRANCH, MANAGER, show="resolved")["follow_ups"] == []
    live.refresh(BRANCH)
    [alert] = pushed.summaries[-1]["private"]["alerts"]
    assert alert["key"] == f"hall:follow_up_overdue:{first['id']}" and alert["severity"] == "warning"
    assert alert["actions"] == [{"kind": "open_case", "case": first["id"], "service": None, "notice": None}]
    assert alert["facts"]["overdue_min"] == 30
    assert "30 min" in alert["text"]["en"] and "30 分钟" in alert["text"]["zh-CN"]
    assert alert["suggestion"]["en"].startswith("Nobody owns it yet.")

    cases.resolve(BRANCH, first["id"], MANAGER, "explained", "explained the queue")
    live.refresh(BRANCH)
    assert pushed.summaries[-1]["private"]["alerts"] == []  # resolved: the alert ends
    with refused("bad_query"):
        cases.cases(BRANCH, MANAGER, show="late")


def test_bad_complaints_are_refused_with_a_reason(hall: HallService, cases: FollowUpService) -> None:
    with refused("bad_category"):
        cases.record_complaint(BRANCH, ZHANG, category="weather", words="rain")
    with refused("bad_words"):
        cases.record_complaint(BRANCH, ZHANG, category="other", words="  ")
    with refused("unknown_ticket"):
        cases.record_complaint(BRANCH, ZHANG, category="other", words="x", ticket_id=999_999)
    with refused("unknown_counter"):
        cases.record_complaint(BRANCH, ZHANG, category="other", words="x", counter="99")
    with refused("forbidden"):
        cases.record_complaint(BRANCH, Actor("other.staff", "staff"), category="other", words="x")
    with refused("read_only_account"):
        cases.record_complaint(BRANCH, REGIONAL, category="other", words="x")
    assert cases.cases(BRANCH, REGIONAL, show="all")["follow_ups"] == []  # a regional account reads


def test_the_report_counts_cases_and_their_time_to_resolve(hall: HallService, cases: FollowUpService,
                                                           clock: FakeClock) -> None:
    day = clock.now.astimezone(hall.branch(BRANCH).timezone).date()
    made = [cases.record_complaint(BRANCH, MANAGER, category="other", words=f"case {i}") for i in range(4)]
    for hours, case in zip((1, 2, 30), made, strict=False):
        clock.advance(hours=hours)
        cases.resolve(BRANCH, case["id"], MANAGER, "explained", "answered")
    # made[2] was answered after 33 h (late); made[3] is still open and past due
    reports = hall.reports
    period = reports.period([hall.branch(BRANCH)], day, day + timedelta(days=3))
    [total] = reports.report([hall.branch(BRANCH)], period, Group.TOTAL, [Section.FOLLOW_UPS])[
        "sections"]["follow_ups"]
    assert (total["opened"], total["resolved"], total["overdue"]) == (4, 3, 2)
    assert (total["resolve_p50_s"], total["resolve_p90_s"]) == (3 * 3600, 33 * 3600)
    by_day = reports.report([hall.branch(BRANCH)], period, Group.DAY, [Section.FOLLOW_UPS])["sections"]["follow_ups"]
    assert [(r["day"], r["opened"], r["resolved"]) for r in by_day] == [
        (day.isoformat(), 4, 2), ((day + timedelta(days=1)).isoformat(), 0, 1)]
    assert by_day[0]["label"] == {"zh-CN": day.isoformat(), "en": day.isoformat()}
    with refused("bad_group"):
        reports.report([hall.branch(BRANCH)], period, Group.SERVICE, [Section.FOLLOW_UPS])
    assert "follow_ups" not in reports.report([hall.branch(BRANCH)], period, Group.SERVICE)["sections"]
    assert date.fromisoformat(by_day[0]["day"]) == day


# --- the API ----------------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=more_branches)
    app, _socketio = create_app(config, clock=FakeClock(), publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()
    app.extensions["hall"].uow.read_engine.dispose()


def signed_in(app: Flask, username: str, password: str = STAFF_PASSWORD) -> FlaskClient:
    client = app.test_client()
    r = client.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return client


def error_of(r: TestResponse, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    body = r.get_json()
    assert body["message"], body  # a reason a person can read
    return body["error"]


def test_cases_through_the_api(app: Flask) -> None:
    staff = signed_in(app, "zhang.wei")
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    regional = signed_in(app, "region.sz")
    other = signed_in(app, "other.staff")

    vocabulary = staff.get(f"{B}/follow-ups/vocabulary").get_json()
    assert "fees" in [c["code"] for c in vocabulary["categories"]]
    assert all(o["text"]["zh-CN"] and o["text"]["en"] for o in vocabulary["outcomes"])

    body = {"category": "fees", "words": WORDS}
    assert error_of(staff.post(f"{B}/follow-ups", json={**body, "category": "weather"}), 422) == "bad_category"
    assert error_of(staff.post(f"{B}/follow-ups", json={"category": "fees"}), 422) == "invalid_request"
    assert error_of(staff.post(f"{B}/follow-ups", json={**body, "ticket_id": 999}), 404) == "unknown_ticket"
    assert error_of(staff.post(f"{B}/follow-ups", json={**body, "call_back": {"phone": "138 1234 5678",
                                                                              "consent": False}}),
                    400) == "consent_required"
    assert error_of(staff.post(f"{B}/follow-ups", json={**body, "call_back": {"phone": "12", "consent": True}}),
                    400) == "bad_phone"
    assert error_of(other.post(f"{B}/follow-ups", json=body), 403) == "forbidden"
    assert error_of(regional.post(f"{B}/follow-ups", json=body), 403) == "read_only_account"
    assert error_of(app.test_client().post(f"{B}/follow-ups", json=body), 401) == "unauthenticated"
    r = staff.post(f"{B}/follow-ups", json={**body, "counter": "2",
                                            "call_back": {"phone": "138 1234 5678", "consent": True}})
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    url = f"{B}/follow-ups/{case['id']}"

    # reading: the branch's managers and a regional account of its region, not its staff nor another branch's
    assert error_of(staff.get(f"{B}/follow-ups"), 403) == "manager_only"
    assert error_of(other.get(url), 403) == "forbidden"
    assert [c["id"] for c in regional.get(f"{B}/follow-ups").get_json()["follow_ups"]] == [case["id"]]
    assert regional.get(url).get_json()["thread"][0]["kind"] == "recorded"
    assert error_of(manager.get(f"{B}/follow-ups?show=late"), 400) == "bad_query"
    assert error_of(manager.get(f"{B}/follow-ups/999"), 404) == "unknown_follow_up"

    # the regional account only reads
    for path, payload in (("assign", {"owner": "zhang.wei"}), ("notes", {"text": "x"}), ("start", None),
                          ("resolve", {"outcome": "fixed", "note": "x"}), ("reopen", {"reason": "x"})):
        assert error_of(regional.post(f"{url}/{path}", json=payload or {}), 403) == "read_only_account", path
    assert error_of(staff.post(f"{url}/notes", json={"text": "x"}), 403) == "not_owner"
    assert error_of(manager.post(f"{url}/assign", json={"owner": "other.staff"}), 422) == "unknown_owner"
    assert manager.post(f"{url}/assign", json={"owner": "zhang.wei"}).status_code == 200
    assert error_of(staff.post(f"{url}/notes", json={"text": ""}), 422) == "invalid_request"
    assert staff.post(f"{url}/notes", json={"text": "called back"}).status_code == 201
    assert staff.post(f"{url}/start", json={}).status_code == 200
    assert error_of(staff.post(f"{url}/start", json={}), 409) == "bad_transition"
    assert error_of(staff.post(f"{url}/resolve", json={"outcome": "nope", "note": "x"}), 422) == "bad_outcome"
    resolved = staff.post(f"{url}/resolve", json={"outcome": "compensated", "note": "voucher"}).get_json()
    assert (resolved["state"], resolved["outcome"]) == ("resolved", "compensated")
    assert error_of(staff.post(f"{url}/reopen", json={"reason": "again"}), 403) == "manager_only"
    assert error_of(manager.post(f"{url}/reopen", json={}), 422) == "invalid_request"
    assert manager.post(f"{url}/reopen", json={"reason": "again"}).get_json()["state"] == "open"
    # the owner sees the number whole (audited), as the existing reveal does
    assert staff.post(f"{url}/contact").get_json()["phone"] == "+8613812345678"
    assert EventKind.FOLLOW_UP_CHANGED.value == "follow_up_changed"


def test_a_deletion_request_blanks_the_complaints_words_and_thread(hall: HallService, cases: FollowUpService,
                                                                    audit: AuditLog, clock: FakeClock) -> None:
    case = cases.record_complaint(BRANCH, MANAGER, category="other", words=WORDS,
                                  call_back=ContactGiven.with_consent("13812345678", None, True))
    cases.add_note(BRANCH, case["id"], MANAGER, "called 13812345678 back")
    removed = PrivacyService(hall.config, hall.uow, audit, clock).delete(BRANCH, "13812345678", MANAGER)["removed"]
    assert (removed["contacts"], removed["case_notes"]) == (1, 2)
    after = cases.case(BRANCH, case["id"], MANAGER)
    assert after["customer_words"] is None and after["contact"] is None
    assert [e["text"] for e in after["thread"]] == [None, None]
    assert [e["kind"] for e in after["thread"]] == ["recorded", "note"]  # who and when stay
