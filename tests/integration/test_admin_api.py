"""The administration API of the hall set-up (``/api/admin/hall``): reading it, creating, editing, moving and
retiring a piece, its refusals, a retired service's tickets, export and import with a preview.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture); every success answer is checked against
its OpenAPI response model (as in test_api.py)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.app import create_app
from tests.conftest import RecordingPublisher
from tests.integration.test_api import check_answers_against_openapi
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
HALL = "/api/admin/hall"
PIECES = f"{HALL}/pieces"


def with_a_holiday(data: dict[str, Any]) -> None:
    data["branches"][0]["exceptions"] = [{"date": tomllib.loads("d = 2027-10-01")["d"], "hours": "closed",
                                          "name": {"zh-CN": "国庆节", "en": "National Day"}, "services": ["VIP"]}]


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, RecordingPublisher]]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    publisher = RecordingPublisher()
    app, _socketio = create_app(demo_config(database_url, tmp_path, more=with_a_holiday), clock=clock,
                                publisher=publisher)
    mismatches = check_answers_against_openapi(app)
    yield app, publisher
    assert mismatches == [], "answers that differ from their OpenAPI response schema:\n" + "\n".join(mismatches)
    app.extensions["hall"].uow.engine.dispose()
    app.extensions["hall"].uow.read_engine.dispose()


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    r = client.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return client


@pytest.fixture
def admin(app: tuple[Flask, RecordingPublisher]) -> FlaskClient:
    return signed_in(app[0], "admin", "demo-admin")


def ok(response: TestResponse, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def refused(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    body = response.get_json()
    assert (response.status_code, body["error"]) == (status, code), (response.status_code, body)
    return body


def piece(client: FlaskClient, kind: str, code: str, branch: str | None = BRANCH) -> dict[str, Any]:
    pieces = ok(client.get(HALL))["pieces"]
    return next(p for p in pieces if p["kind"] == kind and p["code"] == code and p["branch"] in (branch, None))


PASSPORT = {"code": "PASSPORT", "prefix": "P", "parent": "MOBILE", "name": {"zh-CN": "护照", "en": "Passports"},
            "target_wait_min": 20}


def test_the_set_up_is_read_whole_without_password_hashes(admin: FlaskClient) -> None:
    setup = ok(admin.get(HALL))
    assert setup["revision"] == 1
    assert setup["kinds"]["service"] == {"zh-CN": "业务", "en": "Service"}
    kinds = {p["kind"] for p in setup["pieces"]}
    assert kinds >= {"branch", "category", "service", "counter", "kiosk", "account", "settings"}
    accounts = [p for p in setup["pieces"] if p["kind"] == "account"]
    assert accounts and all("password_hash" not in p["body"] for p in accounts)
    branch = piece(admin, "branch", BRANCH, None)
    assert branch["body"]["exceptions"][0]["date"] == "2027-10-01"  # a TOML date travels as YYYY-MM-DD
    assert "services" not in branch["body"]  # the lists are pieces of their own


@pytest.mark.parametrize("who", [("zhang.wei", "demo-staff"), ("manager", "demo-manager")])
def test_staff_and_managers_are_refused(app: tuple[Flask, RecordingPublisher], who: tuple[str, str]) -> None:
    client = signed_in(app[0], *who)
    refused(client.get(HALL), 403, "admin_only")
    refused(client.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "X", "body": {}}), 403,
            "admin_only")
    refused(app[0].test_client().get(f"{HALL}/export"), 401, "unauthenticated")


def test_a_service_is_created_on_a_counter_served_and_announced(app: tuple[Flask, RecordingPublisher],
                                                               admin: FlaskClient) -> None:
    flask_app, publisher = app
    alone = admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "PASSPORT", "body": PASSPORT})
    assert "no counter serves PASSPORT" in refused(alone, 400, "invalid_setup")["message"]
    publisher.events.clear()
    created = ok(admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "PASSPORT", "body": PASSPORT,
                                          "served_by": ["1"]}), 201)
    assert (created["version"], created["revision"]) == (1, 2)
    assert [(p["kind"], p["code"]) for p in created["also"]] == [("counter", "1")]
    assert flask_app.extensions["hall"].config.branch(BRANCH).counter("1").services[-1] == "PASSPORT"
    assert [e["kind"] for e in publisher.events] == ["hall_changed"] and publisher.events[0]["resync"] is True
    again = admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "PASSPORT", "body": PASSPORT,
                                     "served_by": ["1"]})
    refused(again, 409, "already_exists")
    snapshot = ok(flask_app.test_client().get(f"/api/branches/{BRANCH}/snapshot"))
    assert "PASSPORT" in {s["code"] for s in snapshot["services"]}


def test_a_bad_value_is_refused_at_its_field(admin: FlaskClient) -> None:
    bill = piece(admin, "service", "BILL")
    body = {**bill["body"], "prefix": "a1"}
    answer = refused(admin.put(f"{PIECES}/service/BILL", json={"branch": BRANCH, "version": bill["version"],
                                                                "body": body}), 400, "invalid_setup")
    assert answer["details"]["field"] == "prefix" and "capital letters" in answer["message"]
    code_changed = {**bill["body"], "code": "BILL2"}
    answer = refused(admin.put(f"{PIECES}/service/BILL", json={"branch": BRANCH, "version": bill["version"],
                                                                "body": code_changed}), 400, "invalid_setup")
    assert answer["details"]["field"] == "code"
    nulls = admin.put(f"{PIECES}/service/BILL", json={"branch": BRANCH, "version": 1, "body": {"icon": None}})
    refused(nulls, 422, "invalid_request")


def test_a_refusal_carries_its_problem_code_and_parameters(admin: FlaskClient) -> None:
    bill = piece(admin, "service", "BILL")

    def edit(**changes: Any) -> dict[str, Any]:
        body = {**bill["body"], **changes}
        return refused(admin.put(f"{PIECES}/service/BILL", json={"branch": BRANCH, "version": bill["version"],
                                                                  "body": body}), 400, "invalid_setup")

    answer = edit(daily_cap=0)
    assert answer["details"] == {"field": "daily_cap", "key": "branches[0].services[0].daily_cap",
                                 "problem": "too_small", "params": {"min": 1, "value": 0}}
    assert answer["message"] == "must be at least 1, got 0"  # the English wording stays for people and logs
    assert edit(prefix="a1")["details"]["params"] == {"format": "prefix", "value": "a1"}
    taken = edit(prefix=piece(admin, "service", "VIP")["body"]["prefix"])["details"]
    assert (taken["field"], taken["problem"], taken["params"]["kind"]) == ("prefix", "duplicate", "prefix")
    assert edit(code="BILL2")["details"]["problem"] == "code_fixed"
    alone = admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "PASSPORT", "body": PASSPORT})
    unserved = refused(alone, 400, "invalid_setup")["details"]
    assert (unserved["field"], unserved["problem"], unserved["params"]) == ("served_by", "unserved",
                                                                            {"services": ["PASSPORT"]})
    again = admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "BILL", "body": bill["body"]})
    assert refused(again, 409, "already_exists")["details"]["problem"] == "duplicate"
    broken = refused(admin.post(f"{HALL}/import/preview", json={"toml": "branches = ["}), 400, "invalid_setup")
    assert (broken["details"]["problem"], broken["details"]["params"]) == ("bad_format", {"format": "toml"})


def test_retiring_a_category_its_services_are_under_is_in_use(admin: FlaskClient) -> None:
    category = next(p for p in ok(admin.get(HALL))["pieces"] if p["kind"] == "category"
                    and any(s["kind"] == "service" and s["body"].get("parent") == p["code"] and not s["retired"]
                            for s in ok(admin.get(HALL))["pieces"]))
    answer = refused(admin.post(f"{PIECES}/category/{category['code']}/retire",
                                json={"branch": BRANCH, "version": category["version"]}), 400, "invalid_setup")
    assert (answer["details"]["problem"], answer["details"]["params"]) == (
        "in_use", {"kind": "category", "value": category["code"]})


def test_a_stale_save_is_refused_with_both_versions(admin: FlaskClient) -> None:
    bill = piece(admin, "service", "BILL")
    url = f"{PIECES}/service/BILL"
    ok(admin.put(url, json={"branch": BRANCH, "version": bill["version"], "body": {**bill["body"],
                                                                                   "target_wait_min": 12}}))
    answer = refused(admin.put(url, json={"branch": BRANCH, "version": bill["version"],
                                          "body": {**bill["body"], "target_wait_min": 30}}), 409, "stale_version")
    details = answer["details"]
    assert (details["yours"], details["current"]) == (bill["version"], bill["version"] + 1)
    assert details["current_body"]["target_wait_min"] == 12


def test_unknown_pieces_are_404(admin: FlaskClient) -> None:
    refused(admin.put(f"{PIECES}/service/NOPE", json={"branch": BRANCH, "version": 1, "body": {"code": "NOPE"}}),
            404, "not_found")
    refused(admin.post(f"{PIECES}/kiosk/NOPE/retire", json={"branch": BRANCH, "version": 1}), 404, "not_found")
    refused(admin.post(f"{PIECES}/kiosk/K1/move", json={"branch": "NOPE", "version": 1, "position": 0}), 404,
            "not_found")


def test_a_piece_moves_and_a_branch_edit_keeps_its_dates(app: tuple[Flask, RecordingPublisher],
                                                         admin: FlaskClient) -> None:
    flask_app = app[0]
    vip = piece(admin, "service", "VIP")
    ok(admin.post(f"{PIECES}/service/VIP/move", json={"branch": BRANCH, "version": vip["version"], "position": 0}))
    assert flask_app.extensions["hall"].config.branch(BRANCH).services[0].code == "VIP"
    branch = piece(admin, "branch", BRANCH, None)
    body = {**branch["body"], "name": {"zh-CN": "福田厅", "en": "Futian"}}
    ok(admin.put(f"{PIECES}/branch/{BRANCH}", json={"version": branch["version"], "body": body}))
    served = flask_app.extensions["hall"].config.branch(BRANCH)
    assert served.name.en == "Futian" and served.exceptions[0].first.isoformat() == "2027-10-01"


def issue(app: Flask, service: str) -> dict[str, Any]:
    return ok(app.test_client().post(f"/api/branches/{BRANCH}/tickets", json={"service": service}), 201)


def test_retiring_a_service_in_use_is_refused_until_its_tickets_are_transferred(
        app: tuple[Flask, RecordingPublisher], admin: FlaskClient) -> None:
    flask_app, publisher = app
    ok(admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "PASSPORT", "body": PASSPORT,
                                "served_by": ["1", "2"]}), 201)
    tickets = [issue(flask_app, "PASSPORT") for _ in range(3)]
    passport = piece(admin, "service", "PASSPORT")
    url = f"{PIECES}/service/PASSPORT/retire"
    answer = refused(admin.post(url, json={"branch": BRANCH, "version": passport["version"]}), 409, "service_in_use")
    assert answer["details"]["count"] == 3
    bad = admin.post(url, json={"branch": BRANCH, "version": passport["version"],
                                "tickets": {"action": "transfer", "to_service": "PASSPORT"}})
    refused(bad, 422, "bad_transfer_target")
    publisher.events.clear()
    done = ok(admin.post(url, json={"branch": BRANCH, "version": passport["version"],
                                    "tickets": {"action": "transfer", "to_service": "BILL"}}))
    assert done["retired"] is True and done["tickets"] == 3
    assert {p["code"] for p in done["also"]} == {"1", "2"}  # off its counters
    kinds = [e["kind"] for e in publisher.events]
    assert kinds == ["transferred"] * 3 + ["hall_changed"]  # each ticket its event, in the same change
    hall = flask_app.extensions["hall"]
    assert hall.config.branch(BRANCH).service("PASSPORT") is None
    for ticket in tickets:
        mine = ok(flask_app.test_client().get(f"/api/tickets/{ticket['token']}"))
        assert (mine["service"], mine["state"]) == ("BILL", "waiting")


def test_closing_a_retired_services_tickets(app: tuple[Flask, RecordingPublisher], admin: FlaskClient) -> None:
    flask_app, publisher = app
    ok(admin.post(PIECES, json={"kind": "service", "branch": BRANCH, "code": "PASSPORT", "body": PASSPORT,
                                "served_by": ["1"]}), 201)
    ticket = issue(flask_app, "PASSPORT")
    passport = piece(admin, "service", "PASSPORT")
    publisher.events.clear()
    ok(admin.post(f"{PIECES}/service/PASSPORT/retire", json={"branch": BRANCH, "version": passport["version"],
                                                              "tickets": {"action": "close"}}))
    assert [e["kind"] for e in publisher.events] == ["expired", "hall_changed"]
    assert ok(flask_app.test_client().get(f"/api/tickets/{ticket['token']}"))["state"] == "expired"


def test_export_and_import_with_a_preview(app: tuple[Flask, RecordingPublisher], admin: FlaskClient) -> None:
    flask_app = app[0]
    exported = admin.get(f"{HALL}/export")
    assert exported.status_code == 200 and exported.mimetype == "application/toml"
    assert "attachment" in exported.headers["Content-Disposition"]
    data = tomllib.loads(exported.get_data(as_text=True))
    unchanged = ok(admin.post(f"{HALL}/import/preview", json={"toml": tomli_w.dumps(data)}))
    assert (unchanged["added"], unchanged["changed"], unchanged["retired"], unchanged["pieces"]) == (0, 0, 0, [])
    branch = data["branches"][0]
    branch["services"].append({**PASSPORT})
    branch["counters"][0]["services"].append("PASSPORT")
    branch["kiosks"] = branch["kiosks"][:1]
    text = tomli_w.dumps(data)
    preview = ok(admin.post(f"{HALL}/import/preview", json={"toml": text}))
    assert preview["dry_run"] is True and preview["revision"] == 1
    assert {(p["what"], p["kind"], p["code"]) for p in preview["pieces"]} == {
        ("added", "service", "PASSPORT"), ("changed", "counter", "1"), ("retired", "kiosk", "K2")}
    assert flask_app.extensions["hall"].config.branch(BRANCH).service("PASSPORT") is None  # nothing written
    applied = ok(admin.post(f"{HALL}/import", json={"toml": text}))
    assert (applied["added"], applied["changed"], applied["retired"], applied["dry_run"]) == (1, 1, 1, False)
    assert flask_app.extensions["hall"].config.branch(BRANCH).service("PASSPORT") is not None
    broken = refused(admin.post(f"{HALL}/import/preview", json={"toml": "branches = ["}), 400, "invalid_setup")
    assert broken["details"]["field"] == "toml"
    branch["services"][-1]["prefix"] = "A"
    answer = refused(admin.post(f"{HALL}/import", json={"toml": tomli_w.dumps(data)}), 400, "invalid_setup")
    assert answer["details"]["key"].endswith(".prefix")


def test_a_branch_is_created_with_its_first_service_and_counter(app: tuple[Flask, RecordingPublisher],
                                                                admin: FlaskClient) -> None:
    name = {"zh-CN": "南山厅", "en": "Nanshan"}
    alone = admin.post(PIECES, json={"kind": "branch", "code": "SZ-NANSHAN", "body": {"code": "SZ-NANSHAN",
                                                                                      "name": name}})
    assert refused(alone, 400, "invalid_setup")["details"]["key"] == "branches[1].services"
    first = [{"kind": "service", "body": {"code": "BILL", "prefix": "A", "name": {"zh-CN": "缴费", "en": "Bills"}}},
             {"kind": "counter", "body": {"number": "1", "name": {"zh-CN": "1号", "en": "1"}, "services": ["BILL"]}}]
    created = ok(admin.post(PIECES, json={"kind": "branch", "code": "SZ-NANSHAN",
                                          "body": {"code": "SZ-NANSHAN", "name": name}, "first": first}), 201)
    assert {(p["kind"], p["code"]) for p in created["also"]} == {("service", "BILL"), ("counter", "1")}
    assert app[0].extensions["hall"].config.branch("SZ-NANSHAN").counter("1").services == ("BILL",)
    ok(app[0].test_client().get("/api/branches/SZ-NANSHAN/snapshot"))
