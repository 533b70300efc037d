"""Personal data: a call-back contact given with consent on a dissatisfied rating, masked for staff and never in a
public answer, shown whole to the follow-up's owner or a manager (audited), purged by retention (one audit entry a
run), and exported or deleted for one customer (audited). The service layer on SQLite and PostgreSQL, then the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from server.app import create_app
from server.domain.audit import AuditAction
from server.domain.errors import DomainError
from server.domain.privacy import ContactGiven
from server.domain.tickets import Action
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.hall import HallService
from server.services.privacy import PrivacyService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.device_helpers import paired_client
from tests.integration.test_audit_log import second_branch
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff", address="10.0.0.21")
LI = Actor("li.na", "staff", address="10.0.0.22")
MANAGER = Actor("manager", "manager", device="back-office", address="10.0.0.5")
GZ_BOSS = Actor("gz.boss", "manager")
PHONE = "138 1234 5678"
E164 = "+8613812345678"
MASKED = "138****5678"
DIGITS = "13812345678"
COMMENT = "the form was lost, call me on 139-8765-4321"
NOTE = "called back at 13812345678, apologised"


def refused(code: str) -> Any:
    return pytest.raises(DomainError, check=lambda e: e.code == code)


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, publisher, more=second_branch)
    service.counters.sign_in(BRANCH, "2", ZHANG)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def audit(hall: HallService, clock: FakeClock) -> AuditLog:
    return AuditLog(hall.config, hall.uow, clock)


@pytest.fixture
def ratings(hall: HallService, clock: FakeClock) -> RatingService:
    return RatingService(hall.config, hall.uow, clock=clock)


@pytest.fixture
def privacy(hall: HallService, audit: AuditLog, clock: FakeClock) -> PrivacyService:
    return PrivacyService(hall.config, hall.uow, audit, clock)


def finished(hall: HallService, clock: FakeClock, *, note: str | None = None) -> dict[str, Any]:
    """A ticket served at counter 2 (transferred there with ``note`` first, if given) and finished."""
    ticket = hall.tickets.issue(BRANCH, "BILL")
    if note is not None:
        hall.tickets.transfer(BRANCH, ticket["id"], ZHANG, to_counter="2", note=note)
    hall.counters.call_ticket(BRANCH, "2", ticket["id"], ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.START, ZHANG)
    clock.advance(minutes=3)
    hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, ZHANG)
    return ticket


def unhappy(hall: HallService, ratings: RatingService, clock: FakeClock, *, phone: str = PHONE,
            name: str | None = "王女士", note: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dissatisfied rating on the phone page with a call-back; the ticket and the follow-up (manager's view)."""
    ticket = finished(hall, clock, note=note)
    answer = ratings.rate_by_token(ticket["token"], 1, reasons=["SLOW"], comment=COMMENT,
                                   call_back=ContactGiven.with_consent(phone, name, True))
    assert answer["follow_up_opened"] and answer["call_back"] is True
    [follow_up] = [f for f in ratings.cases.cases(BRANCH, MANAGER, show="all")["follow_ups"]
                   if f["ticket"]["id"] == ticket["id"]]
    return ticket, follow_up


def everything_said(publisher: RecordingPublisher) -> str:
    return json.dumps(publisher.events, ensure_ascii=False)


def entries(audit: AuditLog, action: AuditAction) -> list[Any]:
    return audit.search(MANAGER, AuditFilter(actions=(action,)))


def test_a_contact_given_with_consent_is_kept_and_shown_masked(hall: HallService, ratings: RatingService,
                                                               clock: FakeClock, publisher: RecordingPublisher) -> None:
    ticket, follow_up = unhappy(hall, ratings, clock, note="VIP, mobile 13912345678")
    contact = follow_up["contact"]
    assert (contact["phone"], contact["name"], contact["purpose"], contact["channel"]) == (MASKED, "王*", "follow_up",
                                                                                          "mobile")
    assert contact["consent_at"] == clock.now.isoformat()
    assert contact["purge_after"] == (clock.now + timedelta(days=90)).isoformat()
    assert follow_up["comment"] == "the form was lost, call me on 139-****-4321"
    # the database keeps the number in one form
    with hall.uow.read() as session:
        stored = session.execute(text("SELECT phone, name FROM customer_contact")).all()
    assert [tuple(row) for row in stored] == [(E164, "王女士")]
    # public answers say only that a number was left
    state = ratings.rating_state(ticket["token"])
    assert state["rating"]["call_back"] is True
    assert DIGITS not in json.dumps(state) and "王女士" not in json.dumps(state)
    # nothing the screens were sent holds the number, the name or the whole numbers in the notes
    said = everything_said(publisher)
    assert DIGITS not in said and "王女士" not in said and "13912345678" not in said and "87654321" not in said
    assert MASKED in said  # the managers' private view of the follow-up, masked
    # the staff views of the ticket mask the transfer note
    history = hall.queries.events_since(BRANCH, 0)
    assert "139****5678" in json.dumps(history) and "13912345678" not in json.dumps(history)


def test_a_call_back_goes_only_with_a_dissatisfied_score_and_with_consent(hall: HallService, ratings: RatingService,
                                                                          clock: FakeClock) -> None:
    ticket = finished(hall, clock)
    with refused("call_back_not_offered"):
        ratings.rate_by_token(ticket["token"], 3, call_back=ContactGiven(E164))
    with refused("consent_required"):
        ContactGiven.with_consent(PHONE, None, False)
    assert ratings.rating_state(ticket["token"])["rated"] is False  # nothing was written
    with hall.uow.read() as session:
        assert session.execute(text("SELECT count(*) FROM customer_contact")).scalar() == 0


def test_the_pad_takes_a_call_back_too(hall: HallService, ratings: RatingService, clock: FakeClock) -> None:
    ticket = finished(hall, clock)
    answer = ratings.rate_at_counter(BRANCH, "2", ticket["id"], 1, actor=ZHANG,
                                     call_back=ContactGiven.with_consent("+44 20 7946 0958", None, True))
    assert answer["call_back"] is True
    [follow_up] = ratings.cases.cases(BRANCH, MANAGER)["follow_ups"]
    assert follow_up["contact"]["phone"] == "+442*****0958" and follow_up["contact"]["channel"] == "pad"
    assert follow_up["contact"]["name"] is None


def test_the_owner_or_a_manager_sees_the_number_and_it_is_audited(hall: HallService, ratings: RatingService,
                                                                  privacy: PrivacyService, audit: AuditLog,
                                                                  clock: FakeClock) -> None:
    _ticket, follow_up = unhappy(hall, ratings, clock)
    with refused("not_owner"):
        privacy.reveal_contact(BRANCH, follow_up["id"], LI)  # staff of the branch, not its owner
    with refused("forbidden"):
        privacy.reveal_contact(BRANCH, follow_up["id"], Actor("gz.clerk", "staff"))
    with refused("unauthenticated"):
        privacy.reveal_contact(BRANCH, follow_up["id"], Actor(None))
    assert entries(audit, AuditAction.DATA_EXPORTED) == []

    ratings.cases.assign(BRANCH, follow_up["id"], MANAGER, "li.na")
    shown = privacy.reveal_contact(BRANCH, follow_up["id"], LI)
    assert (shown["phone"], shown["phone_display"], shown["name"]) == (E164, "138 1234 5678", "王女士")
    assert privacy.reveal_contact(BRANCH, follow_up["id"], MANAGER)["phone"] == E164
    owner_saw, manager_saw = reversed(entries(audit, AuditAction.DATA_EXPORTED))
    assert (owner_saw.username, owner_saw.branch_code, owner_saw.target, owner_saw.address) == (
        "li.na", BRANCH, f"follow-up {follow_up['id']}", "10.0.0.22")
    assert owner_saw.after is not None and owner_saw.after["phone"] == MASKED
    assert manager_saw.username == "manager"
    assert DIGITS not in json.dumps([e.after for e in entries(audit, AuditAction.DATA_EXPORTED)])
    with refused("unknown_follow_up"):
        privacy.reveal_contact(BRANCH, 999_999, MANAGER)


def test_the_purge_follows_the_retention_with_one_audit_entry_a_run(hall: HallService, ratings: RatingService,
                                                                    privacy: PrivacyService, audit: AuditLog,
                                                                    clock: FakeClock) -> None:
    _t1, resolved = unhappy(hall, ratings, clock, note="call 13912345678")
    _t2, still_open = unhappy(hall, ratings, clock, phone="13900001111")
    ratings.cases.resolve(BRANCH, resolved["id"], MANAGER, "explained", NOTE)
    assert privacy.purge_expired() == {}
    assert entries(audit, AuditAction.DATA_PURGED) == []

    clock.advance(days=30, minutes=1)  # 30 days after the resolution: that contact goes
    assert privacy.purge_expired() == {BRANCH: {"contacts": 1, "comments": 0, "resolution_notes": 0,
                                                "transfer_notes": 0, "event_notes": 0, "case_notes": 0}}
    assert privacy.purge_expired() == {}  # a second run (another process) finds nothing and records nothing
    [entry] = entries(audit, AuditAction.DATA_PURGED)
    assert (entry.username, entry.role, entry.branch_code) == (None, "system", BRANCH)
    assert entry.after is not None and entry.after["contacts"] == 1 and entry.after["contact_max_days"] == 90
    follow_ups = {f["id"]: f for f in ratings.cases.cases(BRANCH, MANAGER, show="all")["follow_ups"]}
    assert follow_ups[resolved["id"]]["contact"] is None
    assert follow_ups[still_open["id"]]["contact"]["phone"] == "139****1111"

    clock.advance(days=60)  # 90 days after it was given: the open follow-up's contact goes too
    assert privacy.purge_expired()[BRANCH]["contacts"] == 1

    clock.advance(days=90)  # 180 days: comments, transfer and resolution notes blanked
    counts = privacy.purge_expired()[BRANCH]
    assert counts == {"contacts": 0, "comments": 2, "resolution_notes": 1, "transfer_notes": 1, "event_notes": 2,
                      "case_notes": 1}  # the resolution's entry in the case's thread
    assert len(entries(audit, AuditAction.DATA_PURGED)) == 3
    with hall.uow.read() as session:
        assert session.execute(text("SELECT count(*) FROM customer_contact")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM rating WHERE comment IS NOT NULL")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM ticket WHERE transfer_note IS NOT NULL")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM rating")).scalar() == 2  # the scores stay
    assert privacy.purge_expired() == {}


def test_export_and_delete_one_customer(hall: HallService, ratings: RatingService, privacy: PrivacyService,
                                        audit: AuditLog, clock: FakeClock) -> None:
    ticket, follow_up = unhappy(hall, ratings, clock, note="customer 13812345678 needs a form")
    other, _ = unhappy(hall, ratings, clock, phone="13900001111")
    ratings.cases.resolve(BRANCH, follow_up["id"], MANAGER, "explained", NOTE)

    found = privacy.find(BRANCH, "+86 138-1234-5678", MANAGER)
    assert found["phone"] == MASKED and found["counts"] == {"contacts": 1, "follow_ups": 1, "ratings": 1, "tickets": 1}
    assert found["contacts"][0]["ticket"]["number"] == ticket["number"] and DIGITS not in json.dumps(found)
    assert entries(audit, AuditAction.DATA_EXPORTED) == []  # finding is not exporting

    exported = privacy.export(BRANCH, PHONE, MANAGER)
    assert exported["phone"] == E164 and exported["contacts"][0]["name"] == "王女士"
    assert exported["ratings"][0]["comment"] == COMMENT  # whole, for the customer
    assert exported["follow_ups"][0]["resolution_note"] == NOTE
    assert exported["tickets"][0]["transfer_note"] == "customer 13812345678 needs a form"
    [export_entry] = entries(audit, AuditAction.DATA_EXPORTED)
    assert export_entry.target == f"customer {MASKED}" and export_entry.after is not None
    assert export_entry.after["contacts"] == 1

    deleted = privacy.delete(BRANCH, PHONE, MANAGER)
    assert deleted["removed"] == {"contacts": 1, "comments": 1, "resolution_notes": 1, "transfer_notes": 1,
                                  "event_notes": 2, "case_notes": 1}
    [delete_entry] = entries(audit, AuditAction.DATA_DELETED)
    assert delete_entry.target == f"customer {MASKED}" and delete_entry.username == "manager"
    assert DIGITS not in json.dumps([e.after for e in audit.search(MANAGER, AuditFilter())])
    assert DIGITS not in json.dumps([e.target for e in audit.search(MANAGER, AuditFilter())])
    with refused("nothing_held"):
        privacy.delete(BRANCH, PHONE, MANAGER)
    assert privacy.find(BRANCH, PHONE, MANAGER)["counts"]["contacts"] == 0
    # the anonymous statistics stay: the rating's score and the follow-up's state
    state = ratings.rating_state(ticket["token"])
    assert state["rating"]["score"] == 1 and state["rating"]["comment"] is None
    assert {f["state"] for f in ratings.cases.cases(BRANCH, MANAGER, show="all")["follow_ups"]} == {"open",
                                                                                                   "resolved"}
    # the other customer's data is untouched
    assert ratings.rating_state(other["token"])["rating"]["comment"] is not None
    assert privacy.find(BRANCH, "13900001111", MANAGER)["counts"]["contacts"] == 1


def test_personal_data_requests_are_for_the_branchs_managers(hall: HallService, ratings: RatingService,
                                                             privacy: PrivacyService, clock: FakeClock) -> None:
    unhappy(hall, ratings, clock)
    for request in (privacy.find, privacy.export, privacy.delete):
        with refused("forbidden"):
            request(BRANCH, PHONE, GZ_BOSS)  # another branch's manager
        with refused("manager_only"):
            request(BRANCH, PHONE, ZHANG)
    with refused("bad_phone"):
        privacy.find(BRANCH, "12345", MANAGER)
    assert privacy.find("GZ-TIANHE", PHONE, GZ_BOSS)["counts"]["contacts"] == 0  # each branch holds its own


# --- the HTTP API (SQLite) ----------------------------------------------------------------------------

B = f"/api/branches/{BRANCH}"


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=second_branch)
    app, _socketio = create_app(config, clock=clock, publisher=publisher)
    yield app
    hall = app.extensions["hall"]
    hall.uow.engine.dispose()
    hall.uow.read_engine.dispose()


def signed_in(app: Flask, username: str, password: str = "demo-staff") -> FlaskClient:
    client = app.test_client()
    r = client.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return client


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = signed_in(app, "zhang.wei")
    assert client.post(f"{B}/counters/2/sign-in", json={}).status_code == 200
    return client


@pytest.fixture
def manager(app: Flask) -> FlaskClient:
    return signed_in(app, "manager", "demo-manager")


def api_finished(app: Flask, staff: FlaskClient, clock: FakeClock) -> dict[str, Any]:
    ticket = app.test_client().post(f"{B}/tickets", json={"service": "BILL"}).get_json()
    assert staff.post(f"{B}/counters/2/call", json={"ticket_id": ticket["id"]}).status_code == 200
    assert staff.post(f"{B}/tickets/{ticket['id']}/start", json={}).status_code == 200
    clock.advance(minutes=2)
    assert staff.post(f"{B}/tickets/{ticket['id']}/finish", json={}).status_code == 200
    return ticket


def test_the_phone_page_leaves_a_number_and_bad_ones_are_400_with_the_reason(app: Flask, staff: FlaskClient,
                                                                             manager: FlaskClient,
                                                                             clock: FakeClock) -> None:
    customer = app.test_client()
    ticket = api_finished(app, staff, clock)
    rate = f"/api/tickets/{ticket['token']}/rating"
    for call_back, code in (({"phone": "12345", "consent": True}, "bad_phone"),
                            ({"phone": PHONE, "consent": False}, "consent_required"),
                            ({"phone": PHONE, "name": "Call 139", "consent": True}, "bad_name")):
        r = customer.post(rate, json={"score": 1, "call_back": call_back})
        assert r.status_code == 400, r.get_json()
        body = r.get_json()
        assert body["error"] == code and body["details"]["text"]["zh-CN"] and body["details"]["text"]["en"]
    r = customer.post(rate, json={"score": 1, "call_back": {"phone": PHONE}})
    assert r.status_code == 422 and "consent" in r.get_json()["message"]
    r = customer.post(rate, json={"score": 3, "call_back": {"phone": PHONE, "consent": True}})
    assert r.status_code == 422 and r.get_json()["error"] == "call_back_not_offered"

    r = customer.post(rate, json={"score": 1, "reasons": ["SLOW"],
                                  "call_back": {"phone": PHONE, "name": "王女士", "consent": True}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["call_back"] is True and DIGITS not in r.get_data(as_text=True)
    state = customer.get(rate).get_json()
    assert state["rating"]["call_back"] is True and DIGITS not in json.dumps(state)
    config = customer.get("/api/ratings/config").get_json()
    assert config["call_back"] == {"days_after_resolved": 30, "max_days": 90}

    [follow_up] = manager.get(f"{B}/follow-ups").get_json()["follow_ups"]
    assert follow_up["contact"]["phone"] == MASKED
    shown = manager.post(f"{B}/follow-ups/{follow_up['id']}/contact")
    assert shown.status_code == 200 and shown.get_json()["phone"] == E164
    refused_staff = staff.post(f"{B}/follow-ups/{follow_up['id']}/contact")
    assert refused_staff.status_code == 403 and refused_staff.get_json()["error"] == "not_owner"
    assert app.test_client().post(f"{B}/follow-ups/{follow_up['id']}/contact").status_code == 401


def test_the_pad_leaves_a_number(app: Flask, staff: FlaskClient, manager: FlaskClient, clock: FakeClock) -> None:
    pad = paired_client(app, "pad", "2")
    ticket = api_finished(app, staff, clock)
    r = pad.post(f"{B}/counters/2/rating", json={"ticket_id": ticket["id"], "score": 1,
                                                 "call_back": {"phone": "8613812345678", "consent": True}})
    assert r.status_code == 201, r.get_json()
    [follow_up] = manager.get(f"{B}/follow-ups").get_json()["follow_ups"]
    assert follow_up["contact"]["phone"] == MASKED and follow_up["contact"]["channel"] == "pad"


def test_personal_data_card_routes(app: Flask, staff: FlaskClient, manager: FlaskClient, clock: FakeClock) -> None:
    ticket = api_finished(app, staff, clock)
    assert app.test_client().post(f"/api/tickets/{ticket['token']}/rating", json={
        "score": 1, "comment": COMMENT, "call_back": {"phone": PHONE, "consent": True}}).status_code == 201
    data = f"{B}/personal-data"
    r = manager.post(f"{data}/search", json={"phone": "１３８ １２３４ ５６７８"})
    assert r.status_code == 200 and r.get_json()["counts"]["contacts"] == 1
    r = manager.post(f"{data}/search", json={"phone": "0755 1234"})
    assert r.status_code == 400 and r.get_json()["error"] == "bad_phone" and r.get_json()["details"]["text"]["en"]
    r = manager.post(f"{data}/search", json={})
    assert r.status_code == 422 and "phone" in r.get_json()["message"]

    exported = manager.post(f"{data}/export", json={"phone": PHONE})
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith('attachment; filename="personal-data-SZ-FUTIAN-')
    assert exported.headers["Cache-Control"] == "no-store"
    assert exported.get_json()["ratings"][0]["comment"] == COMMENT

    assert staff.post(f"{data}/export", json={"phone": PHONE}).status_code == 403
    gz = signed_in(app, "gz.boss")
    r = gz.post(f"{data}/delete", json={"phone": PHONE})
    assert r.status_code == 403, r.get_json()
    assert app.test_client().post(f"{data}/delete", json={"phone": PHONE}).status_code == 401

    r = manager.post(f"{data}/delete", json={"phone": PHONE})
    assert r.status_code == 200 and r.get_json()["removed"]["contacts"] == 1
    r = manager.post(f"{data}/delete", json={"phone": PHONE})
    assert r.status_code == 404 and r.get_json()["error"] == "nothing_held"


def test_the_routes_are_documented(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    for path in ("/api/branches/{branch}/personal-data/search", "/api/branches/{branch}/personal-data/export",
                 "/api/branches/{branch}/personal-data/delete",
                 "/api/branches/{branch}/follow-ups/{follow_up_id}/contact"):
        operation = document["paths"][path]["post"]
        assert {"400", "401", "403"} <= set(operation["responses"]) or path.endswith("/contact")
        assert operation["x-access"] in ("manager", "staff")
    rate = document["components"]["schemas"]["CallBackRequest"]
    assert set(rate["required"]) == {"phone", "consent"}
